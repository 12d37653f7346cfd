"""Malformed, foreign and newer-version messages are logged and set aside: no crash, no wrong task halted.

As lib/worker/reference-worker.ts does, they are deleted: only this worker reads its queue, so nobody else
would ever take them, and left there they would come back until the dead-letter queue took them (and alarmed).
The real owner of a foreign task still learns of its stop from its heartbeat and the cleanup's re-drive.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from conftest import Stack, TypeScriptSide, stored
from stop_task_worker import ReferenceWorker, parse_stop_message


def a_stop(task_id: str, worker_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "type": "task.stop",
        "version": 1,
        "task_id": task_id,
        "organization_id": "org-a",
        "agent_id": "agent-x",
        "worker_id": worker_id,
        "environment_id": None,
        "is_manually_stopped": True,
        "requested_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "requested_by": "key-a",
        "reason": "user_requested",
        **overrides,
    }


def test_unreadable_foreign_and_newer_messages_are_set_aside(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, sqs: Any, make_worker: Callable[..., ReferenceWorker]
) -> None:
    me = f"py-aside-{uuid.uuid4().hex[:8]}"
    mine = ts.seed(me)
    foreign = ts.seed("py-someone-else")
    events: list[tuple[str, dict[str, Any]]] = []
    worker = make_worker(me, heartbeat_interval_seconds=60, log=lambda event, fields: events.append((event, fields)))
    queue_url = worker.open_queue()
    halted = threading.Event()
    end = worker.run_thread(mine, lambda stop: "halted" if stop.wait(120) and halted.set() is None else "finished")

    bodies = [
        "{not json",
        "",
        json.dumps([1, 2]),
        json.dumps({"type": "task.stop"}),
        # A stop of a version this kit does not know, for the very task it runs: not acted on.
        json.dumps(a_stop(mine, me, version=2)),
        json.dumps(a_stop(mine, me, version=True)),
        json.dumps(a_stop(mine, me, requested_at="yesterday")),
        # Another worker's task (it does not run here).
        json.dumps(a_stop(foreign, "py-someone-else")),
    ]
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body or " ")
    handled = 0
    for _ in range(6):
        handled += worker.poll_once(1)
    assert handled == 0
    assert not end.done() and not halted.is_set()
    assert mine in worker.running_tasks()
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []
    discarded = [event for event, _ in events if event.endswith("discarded")]
    assert discarded.count("unreadable stop message discarded") == len(bodies) - 1
    assert discarded.count("stop for another worker discarded") == 1
    assert "stop_acknowledged_at" not in stored(dynamodb, stack, foreign)
    assert stored(dynamodb, stack, mine)["status"] == {"S": "executing"}

    # The real stop still halts it.
    assert ts.stop(mine) == 200
    while worker.poll_once(1) == 0:
        pass
    assert end.result(timeout=10) == "stopped"


def test_the_model_reads_what_the_zod_schema_reads() -> None:
    good = a_stop("t", "w")
    assert parse_stop_message(json.dumps(good)) is not None
    assert parse_stop_message(json.dumps({**good, "extra": 1})) is not None  # zod strips unknown keys
    assert parse_stop_message(json.dumps({**good, "note": None})) is not None
    with_limit = {**good, "limit": {"limit_name": "max_tokens", "limit": 1000, "usage": 1000.5}}
    assert parse_stop_message(json.dumps(with_limit)) is not None
    for bad in [
        {**good, "limit": None},
        {**good, "limit": {"limit_name": "max_cost", "limit": 1, "usage": 2}},
        {**good, "worker_id": 7},
        {**good, "is_manually_stopped": "true"},
        {**good, "requested_at": "2026-01-01T00:00:00+00:00"},
        {**good, "requested_at": "2026-02-30T00:00:00Z"},
        {**good, "type": "task.pause"},
        {key: value for key, value in good.items() if key != "environment_id"},
    ]:
        assert parse_stop_message(json.dumps(bad)) is None, bad
