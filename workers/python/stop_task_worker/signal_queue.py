"""An owner's own stop-signal queue, made exactly as lib/worker/signal-queue.ts makes it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from .channels import LONG_POLL_SECONDS, WORKERS, SignalQueueSettings
from .queue_names import LAST_SEEN_TAG, signal_queue_name
from .timestamps import format_timestamp, utc_now

_QUEUE_EXISTS_CODES = {"QueueNameExists", "QueueAlreadyExists", "AWS.SimpleQueueService.QueueNameExists"}
_QUEUE_GONE_CODES = {"QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue"}


def queue_attributes(settings: SignalQueueSettings) -> dict[str, str]:
    channel = settings.channel or WORKERS
    return {
        "VisibilityTimeout": str(channel.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(channel.retention_seconds),
        "ReceiveMessageWaitTimeSeconds": str(LONG_POLL_SECONDS),
        # Compact JSON with this key order: JSON.stringify's output, byte for byte.
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": settings.dead_letter_queue_arn, "maxReceiveCount": channel.max_receive_count},
            separators=(",", ":"),
            ensure_ascii=False,
        ),
    }


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_queue_gone(error: BaseException) -> bool:
    return isinstance(error, ClientError) and _error_code(error) in _QUEUE_GONE_CODES


def ensure_signal_queue(sqs: Any, settings: SignalQueueSettings, owner_id: str, now: datetime | None = None) -> str:
    """Creates the owner's queue, or finds it, tagged as seen now. Returns its URL (the one the stop function derives)."""
    moment = now or utc_now()
    queue_name = signal_queue_name(settings.name_prefix, owner_id)
    attributes = queue_attributes(settings)
    last_seen = {LAST_SEEN_TAG: format_timestamp(moment)}
    try:
        queue_url = sqs.create_queue(
            QueueName=queue_name,
            Attributes={**attributes, "SqsManagedSseEnabled": "true"},
            tags=last_seen,
        ).get("QueueUrl")
    except ClientError as error:
        if _error_code(error) not in _QUEUE_EXISTS_CODES:
            raise
        # Made by an older version with other attributes: bring it to this version's.
        queue_url = sqs.get_queue_url(QueueName=queue_name).get("QueueUrl")
        if queue_url:
            sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=attributes)
    if not queue_url:
        raise RuntimeError(f"SQS returned no URL for {queue_name}")
    # CreateQueue leaves an existing queue's tags alone: refresh the last-seen tag explicitly.
    mark_signal_queue_seen(sqs, queue_url, moment)
    return str(queue_url)


def mark_signal_queue_seen(sqs: Any, queue_url: str, now: datetime | None = None) -> None:
    """Tells the cleanup's sweep this queue's owner is alive."""
    sqs.tag_queue(QueueUrl=queue_url, Tags={LAST_SEEN_TAG: format_timestamp(now or utc_now())})
