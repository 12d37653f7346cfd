"""The signal channels' queue settings, as lib/resources.ts defines them and lib/worker/signal-queue.ts uses them."""

from __future__ import annotations

from dataclasses import dataclass

DAY_SECONDS = 24 * 60 * 60

#: Long polls wait this long (SQS's maximum).
LONG_POLL_SECONDS = 20
#: Refresh the last-seen tag this often; the sweep deletes a queue only after a day without one.
QUEUE_REFRESH_INTERVAL_SECONDS = 10 * 60


@dataclass(frozen=True)
class SignalChannel:
    owner_queue_part: str
    visibility_timeout_seconds: int
    retention_seconds: int
    max_receive_count: int


WORKERS = SignalChannel("worker", visibility_timeout_seconds=30, retention_seconds=4 * DAY_SECONDS, max_receive_count=5)
ENVIRONMENTS = SignalChannel("env", visibility_timeout_seconds=30, retention_seconds=4 * DAY_SECONDS, max_receive_count=5)


@dataclass(frozen=True)
class SignalQueueSettings:
    """Where an owner's queue is made: the channel's name prefix and dead-letter queue (the stack's outputs)."""

    name_prefix: str
    dead_letter_queue_arn: str
    channel: SignalChannel | None = None
