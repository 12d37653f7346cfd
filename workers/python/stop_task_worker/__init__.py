"""The worker's half of the stop contract, in Python: lib/worker/ of the stop-task service, byte-compatible with it."""

from .channels import ENVIRONMENTS, LONG_POLL_SECONDS, QUEUE_REFRESH_INTERVAL_SECONDS, WORKERS, SignalChannel, SignalQueueSettings
from .execution_updates import EnvironmentOwner, ExecutionUpdates, FinishResult, WorkerOwner, index_shard
from .queue_names import LAST_SEEN_TAG, signal_queue_name, signal_queue_url
from .signal_queue import ensure_signal_queue, mark_signal_queue_seen, queue_attributes
from .stop_message import STOP_MESSAGE_TYPE, STOP_MESSAGE_VERSION, LimitCrossing, StopMessage, parse_stop_message
from .worker import ReferenceWorker, TaskEnd

__all__ = [
    "ENVIRONMENTS",
    "LAST_SEEN_TAG",
    "LONG_POLL_SECONDS",
    "QUEUE_REFRESH_INTERVAL_SECONDS",
    "STOP_MESSAGE_TYPE",
    "STOP_MESSAGE_VERSION",
    "WORKERS",
    "EnvironmentOwner",
    "ExecutionUpdates",
    "FinishResult",
    "LimitCrossing",
    "ReferenceWorker",
    "SignalChannel",
    "SignalQueueSettings",
    "StopMessage",
    "TaskEnd",
    "WorkerOwner",
    "ensure_signal_queue",
    "index_shard",
    "mark_signal_queue_seen",
    "parse_stop_message",
    "queue_attributes",
    "signal_queue_name",
    "signal_queue_url",
]
