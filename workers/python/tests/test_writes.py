"""Heartbeat, acknowledge and finish: the same conditional writes as lib/worker/execution-updates.ts.

Each write is made by Python on one task and by TypeScript on a twin (same worker, same state), and the
stored items are compared with ids, shards and timestamps replaced by placeholders.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from conftest import Stack, TypeScriptSide, stored
from stop_task_worker import EnvironmentOwner, ExecutionUpdates, WorkerOwner, index_shard

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def normalized(item: dict[str, Any], task_id: str) -> dict[str, Any]:
    """The item with what differs between twins by construction (id, agent, shard, times) replaced."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        text = value.get("S")
        if name in ("id", "agent_id", "stop_request_id"):
            out[name] = "<id>"
        elif isinstance(text, str) and TIMESTAMP.fullmatch(text):
            out[name] = "<timestamp>"
        elif name == "idx_active_shard":
            assert text == index_shard("active", task_id)
            out[name] = "<active shard>"
        elif name == "idx_signal_shard":
            assert text == index_shard("signal", task_id)
            out[name] = "<signal shard>"
        else:
            out[name] = value
    return out


def twins(ts: TypeScriptSide, worker: str, environment: str | None = None) -> tuple[str, str]:
    return ts.seed(worker, environment), ts.seed(worker, environment)


def me() -> str:
    return f"py-writes-{uuid.uuid4().hex[:8]}"


def a_stopped_task(ts: TypeScriptSide, worker: str) -> str:
    """A task of ``worker``'s, stopped by the real stop function (not acknowledged yet)."""
    task_id = ts.seed(worker)
    assert ts.stop(task_id) == 200
    return task_id


def assert_twins(dynamodb: Any, stack: Stack, python_task: str, typescript_task: str) -> None:
    assert normalized(stored(dynamodb, stack, python_task), python_task) == normalized(
        stored(dynamodb, stack, typescript_task), typescript_task
    )


def test_heartbeat_writes_what_the_typescript_heartbeat_writes(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates
) -> None:
    worker = me()
    ours, theirs = twins(ts, worker)
    # A record the platform wrote: no liveness keys yet, so the first heartbeat brings it into the indexes.
    for task_id in (ours, theirs):
        dynamodb.update_item(
            TableName=stack["tables"]["executions"],
            Key={"id": {"S": task_id}},
            UpdateExpression="REMOVE idx_active_shard, idx_heartbeat_at, idx_active_since",
        )
    assert updates.heartbeat(ours, worker) == "alive"
    assert ts.call("heartbeat", task_id=theirs, worker_id=worker)["result"] == "alive"
    assert_twins(dynamodb, stack, ours, theirs)
    item = stored(dynamodb, stack, ours)
    assert item["idx_active_shard"] == {"S": index_shard("active", ours)}
    assert item["idx_active_since"] == item["idx_heartbeat_at"]

    # A later heartbeat moves idx_heartbeat_at and keeps idx_active_since.
    since = item["idx_active_since"]
    assert updates.heartbeat(ours, worker) == "alive"
    again = stored(dynamodb, stack, ours)
    assert again["idx_active_since"] == since
    assert again["idx_heartbeat_at"]["S"] >= since["S"]

    # Another worker's heartbeat is refused; after a stop, the heartbeat answers stop_requested.
    assert updates.heartbeat(ours, "someone-else") == "not_running"
    assert ts.stop(ours) == 200
    assert updates.heartbeat(ours, worker) == "stop_requested"
    assert ts.call("heartbeat", task_id=ours, worker_id=worker)["result"] == "stop_requested"
    assert updates.heartbeat(f"missing-{uuid.uuid4()}", worker) == "not_running"


def test_acknowledge_writes_what_the_typescript_acknowledge_writes(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates
) -> None:
    worker = me()
    ours, theirs = twins(ts, worker)
    assert updates.acknowledge_stop(ours, WorkerOwner(worker)) == "not_stopped"
    assert ts.stop(ours) == 200 and ts.stop(theirs) == 200
    # In the signal-redrive index until acknowledged.
    assert "idx_signal_shard" in stored(dynamodb, stack, ours)
    assert updates.acknowledge_stop(ours, WorkerOwner(worker)) == "acknowledged"
    assert ts.call("acknowledge", task_id=theirs, worker_id=worker)["result"] == "acknowledged"
    assert_twins(dynamodb, stack, ours, theirs)
    item = stored(dynamodb, stack, ours)
    assert item["stop_acknowledged_by"] == {"S": worker}
    for name in ("idx_signal_shard", "idx_signal_due_at", "signal_pending_since"):
        assert name not in item
    # The first acknowledgement is kept; a second agrees with it.
    first = item["stop_acknowledged_at"]
    assert updates.acknowledge_stop(ours, WorkerOwner(worker)) == "acknowledged"
    assert stored(dynamodb, stack, ours)["stop_acknowledged_at"] == first
    assert updates.acknowledge_stop(f"missing-{uuid.uuid4()}", WorkerOwner(worker)) == "not_found"


@pytest.mark.parametrize("intruder", ["someone-else", ""])
def test_another_workers_acknowledge_is_refused(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates, intruder: str
) -> None:
    worker = me()
    task_id = a_stopped_task(ts, worker)
    assert updates.acknowledge_stop(task_id, WorkerOwner(intruder)) == "not_owner"
    assert ts.call("acknowledge", task_id=task_id, worker_id=intruder)["result"] == "not_owner"
    assert updates.acknowledge_stop(task_id, EnvironmentOwner("env-not-its")) == "not_owner"
    item = stored(dynamodb, stack, task_id)
    assert "stop_acknowledged_at" not in item
    assert "idx_signal_shard" in item


def test_an_explicit_null_acknowledgement_counts_as_none(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates
) -> None:
    worker = me()
    task_id = a_stopped_task(ts, worker)
    dynamodb.update_item(
        TableName=stack["tables"]["executions"],
        Key={"id": {"S": task_id}},
        UpdateExpression="SET stop_acknowledged_at = :null",
        ExpressionAttributeValues={":null": {"NULL": True}},
    )
    assert updates.acknowledge_stop(task_id, WorkerOwner(worker)) == "acknowledged"
    assert "S" in stored(dynamodb, stack, task_id)["stop_acknowledged_at"]


def test_an_environments_acknowledge_is_scoped_to_its_environment(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates
) -> None:
    environment = f"env-{uuid.uuid4().hex[:8]}"
    ours, theirs = twins(ts, "onprem-w", environment)
    assert ts.stop(ours) == 200 and ts.stop(theirs) == 200
    assert updates.acknowledge_stop(ours, EnvironmentOwner("env-another")) == "not_owner"
    assert updates.acknowledge_stop(ours, EnvironmentOwner(environment)) == "acknowledged"
    assert ts.call("acknowledge", task_id=theirs, environment_id=environment)["result"] == "acknowledged"
    assert_twins(dynamodb, stack, ours, theirs)


@pytest.mark.parametrize("how", ["complete", "fail"])
def test_finish_writes_what_the_typescript_finish_writes(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates, how: str
) -> None:
    worker = me()
    ours, theirs = twins(ts, worker)
    finish = updates.complete if how == "complete" else updates.fail
    assert finish(ours, worker, "the result").kind == "finished"
    assert ts.call(how, task_id=theirs, worker_id=worker, result="the result")["result"] == {"kind": "finished"}
    assert_twins(dynamodb, stack, ours, theirs)
    item = stored(dynamodb, stack, ours)
    assert item["status"] == {"S": "completed" if how == "complete" else "failed"}
    assert item["version"] == {"N": "1"}
    assert "idx_active_shard" not in item
    # Finished is final: neither side finishes it again.
    again = finish(ours, worker, "again")
    assert (again.kind, again.status) == ("already_terminal", item["status"]["S"])
    assert finish(f"missing-{uuid.uuid4()}", worker, "x").kind == "not_found"


def test_a_stop_that_wins_the_race_with_completion_is_honoured(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, updates: ExecutionUpdates
) -> None:
    worker = me()
    task_id = a_stopped_task(ts, worker)
    result = updates.complete(task_id, worker, "too late")
    assert (result.kind, result.status) == ("already_terminal", "stopped")
    assert stored(dynamodb, stack, task_id)["status"] == {"S": "stopped"}


@pytest.mark.parametrize("task_id", ["0f3c2a9e-1111-4222-8333-944445555666", "worker-task-not-hex", "ffffffff"])
def test_the_requests_are_the_typescript_requests(ts: TypeScriptSide, task_id: str) -> None:
    """Expressions, names and values, parameter for parameter, as lib/worker/execution-updates.ts sends them."""
    at = "2026-12-01T09:00:00.123000Z"
    theirs = ts.call("requests", task_id=task_id, worker_id="worker-7", environment_id="env-7", at=at)
    ours = ExecutionUpdates(client=None, table_name="the-table")
    assert ours.heartbeat_request(task_id, "worker-7", at) == theirs["heartbeat"]
    assert ours.acknowledge_request(task_id, WorkerOwner("worker-7"), at) == theirs["acknowledge_worker"]
    assert ours.acknowledge_request(task_id, EnvironmentOwner("env-7"), at) == theirs["acknowledge_environment"]
    assert ours.finish_request(task_id, "worker-7", "completed", "the result", at) == theirs["complete"]
    assert ours.finish_request(task_id, "worker-7", "failed", "the error", at) == theirs["fail"]
