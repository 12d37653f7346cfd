"""The worker's own queue: named and made exactly as lib/worker/signal-queue.ts makes it."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from conftest import Stack, TypeScriptSide, channel_settings, poll_until_handled
from stop_task_worker import LAST_SEEN_TAG, ensure_signal_queue, signal_queue_name, signal_queue_url

ODD_IDS = [
    "py-worker-1",
    "a worker/with:unsafe.characters",
    "w" * 120,
    "worker-0123456789abcdef",  # ends as a hashed name does: hashed too
    "émoji-😀-worker",
    "trailing-newline\n",
    "ab",
]
VOLATILE_ATTRIBUTES = {"QueueArn", "CreatedTimestamp", "LastModifiedTimestamp"}


def attributes(sqs: Any, url: str) -> dict[str, str]:
    found: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return {name: value for name, value in found.items() if name not in VOLATILE_ATTRIBUTES and not name.startswith("Approximate")}


@pytest.mark.parametrize("owner_id", ODD_IDS)
def test_queue_names_are_the_typescript_names(stack: Stack, ts: TypeScriptSide, owner_id: str) -> None:
    for channel in ("workers", "environments"):
        prefix = stack["signal_channels"][channel]["name_prefix"]
        assert signal_queue_name(prefix, owner_id) == ts.call("queue_name", prefix=prefix, owner_id=owner_id)["name"]


@pytest.mark.parametrize("channel", ["workers", "environments"])
@pytest.mark.parametrize("owner_id", ["py-queue", "py queue/needs:hashing"])
def test_the_queue_is_the_typescript_queue(stack: Stack, ts: TypeScriptSide, sqs: Any, channel: str, owner_id: str) -> None:
    owner = f"{owner_id}-{uuid.uuid4().hex[:6]}"
    settings = channel_settings(stack, channel)
    url = ensure_signal_queue(sqs, settings, owner)
    # The URL the stop function derives for this owner.
    assert url == signal_queue_url(stack["signal_channels"][channel]["url_prefix"], owner)
    made_by_python = attributes(sqs, url)
    tags = sqs.list_queue_tags(QueueUrl=url)["Tags"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", tags[LAST_SEEN_TAG])

    # The TypeScript worker with the same id finds the very same queue, attributes unchanged.
    assert ts.call("ensure_queue", channel=channel, owner_id=owner)["url"] == url
    assert attributes(sqs, url) == made_by_python
    # And one the TypeScript worker makes for itself has the same attributes, the redrive to the channel's DLQ included.
    twin = ts.call("ensure_queue", channel=channel, owner_id=f"{owner}-ts")["url"]
    assert attributes(sqs, twin) == made_by_python
    assert sorted(sqs.list_queue_tags(QueueUrl=twin)["Tags"]) == sorted(tags)
    assert f'"deadLetterTargetArn":"{settings.dead_letter_queue_arn}"' in made_by_python["RedrivePolicy"]


def test_making_the_queue_again_is_harmless_and_refreshes_the_tag(stack: Stack, sqs: Any) -> None:
    from datetime import datetime, timedelta, timezone

    settings = channel_settings(stack, "workers")
    owner = f"py-again-{uuid.uuid4().hex[:6]}"
    first = datetime(2026, 1, 1, tzinfo=timezone.utc)
    url = ensure_signal_queue(sqs, settings, owner, first)
    assert ensure_signal_queue(sqs, settings, owner, first + timedelta(hours=1)) == url
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"][LAST_SEEN_TAG] == "2026-01-01T01:00:00.000000Z"


def test_polling_refreshes_the_last_seen_tag_every_ten_minutes(stack: Stack, sqs: Any, make_worker: Any) -> None:
    import time

    worker = make_worker(f"py-refresh-{uuid.uuid4().hex[:6]}")
    url = worker.open_queue()
    sqs.tag_queue(QueueUrl=url, Tags={LAST_SEEN_TAG: "2026-01-01T00:00:00.000000Z"})
    worker.poll_once(0)
    # Less than ten minutes since the queue was made: left alone.
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"][LAST_SEEN_TAG] == "2026-01-01T00:00:00.000000Z"
    worker._last_seen_at = time.monotonic() - 601  # ten minutes and a second ago
    worker.poll_once(0)
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"][LAST_SEEN_TAG] > "2026-01-01T00:00:00.000000Z"


def test_a_queue_deleted_while_the_worker_was_away_is_made_again(
    stack: Stack, ts: TypeScriptSide, sqs: Any, make_worker: Any
) -> None:
    from botocore.exceptions import ClientError

    me = f"py-gone-{uuid.uuid4().hex[:6]}"
    worker = make_worker(me)
    url = worker.open_queue()
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError):
        worker.poll_once(0)
    assert worker.open_queue() == url
    task_id = ts.seed(me)
    assert ts.stop(task_id) == 200
    assert poll_until_handled(worker) == 1
