"""A stop sent by the real stop function halts the right task: an asyncio task, a thread's Event, an environment's."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any, Callable

from conftest import Stack, TypeScriptSide, eventually, poll_until_handled, stored
from stop_task_worker import ReferenceWorker

SIGNAL_BOOKKEEPING = ("idx_signal_shard", "idx_signal_due_at", "signal_pending_since")


def worker_id(label: str) -> str:
    return f"py-{label}-{uuid.uuid4().hex[:8]}"


def assert_acknowledged(dynamodb: Any, stack: Stack, task_id: str, by: str) -> None:
    item = stored(dynamodb, stack, task_id)
    assert item["status"] == {"S": "stopped"}
    assert item["stop_acknowledged_by"] == {"S": by}
    assert "S" in item["stop_acknowledged_at"]
    for name in SIGNAL_BOOKKEEPING:
        assert name not in item, f"{name} left on an acknowledged stop"


def test_a_stop_cancels_an_asyncio_task(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, sqs: Any, make_worker: Callable[..., ReferenceWorker]
) -> None:
    me = worker_id("async")
    task_id = ts.seed(me)
    worker = make_worker(me, heartbeat_interval_seconds=60)
    queue_url = worker.open_queue()
    cancelled = threading.Event()

    async def agent() -> str:
        try:
            await asyncio.sleep(120)
            return "finished"
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def scenario() -> str:
        run = asyncio.create_task(worker.run_async(task_id, agent))
        await asyncio.to_thread(eventually, lambda: task_id in worker.running_tasks())
        assert await asyncio.to_thread(ts.stop, task_id) == 200
        assert await asyncio.to_thread(poll_until_handled, worker) == 1
        return await asyncio.wait_for(run, 10)

    assert asyncio.run(scenario()) == "stopped"
    assert cancelled.is_set()
    assert_acknowledged(dynamodb, stack, task_id, me)
    assert sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", []) == []


def test_a_stop_sets_a_threads_event(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, make_worker: Callable[..., ReferenceWorker]
) -> None:
    me = worker_id("thread")
    task_id = ts.seed(me)
    worker = make_worker(me, heartbeat_interval_seconds=60)
    worker.open_queue()
    saw_stop = threading.Event()

    def agent(stop: threading.Event) -> str:
        if stop.wait(120):
            saw_stop.set()
        return "finished"

    end = worker.run_thread(task_id, agent)
    assert ts.stop(task_id) == 200
    assert poll_until_handled(worker) == 1
    assert end.result(timeout=10) == "stopped"
    assert saw_stop.is_set()
    assert_acknowledged(dynamodb, stack, task_id, me)
    # A stopped task is never finished over its stop (the body's return is not written as a result).
    assert "result" not in stored(dynamodb, stack, task_id)


def test_a_worker_whose_id_needs_hashing_gets_its_stop(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, make_worker: Callable[..., ReferenceWorker]
) -> None:
    me = f"py worker/{uuid.uuid4().hex[:8]}:é"
    task_id = ts.seed(me)
    worker = make_worker(me, heartbeat_interval_seconds=60)
    worker.open_queue()
    end = worker.run_thread(task_id, lambda stop: "finished" if not stop.wait(120) else "halted")
    assert ts.stop(task_id) == 200
    assert poll_until_handled(worker) == 1
    assert end.result(timeout=10) == "stopped"
    assert_acknowledged(dynamodb, stack, task_id, me)


def test_the_heartbeat_halts_a_task_whose_message_was_lost(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, sqs: Any, make_worker: Callable[..., ReferenceWorker]
) -> None:
    me = worker_id("lost")
    task_id = ts.seed(me)
    worker = make_worker(me, heartbeat_interval_seconds=0.2)
    queue_url = worker.open_queue()
    end = worker.run_thread(task_id, lambda stop: "finished" if not stop.wait(120) else "halted")
    assert ts.stop(task_id) == 200
    # The message is taken away, as if it never arrived.
    taken = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2, VisibilityTimeout=60).get("Messages", [])
    assert len(taken) == 1
    assert end.result(timeout=10) == "stopped"
    eventually(lambda: "stop_acknowledged_at" in stored(dynamodb, stack, task_id))
    assert_acknowledged(dynamodb, stack, task_id, me)


def test_an_environments_consumer_takes_its_environments_stops_only(
    stack: Stack, ts: TypeScriptSide, dynamodb: Any, make_worker: Callable[..., ReferenceWorker]
) -> None:
    environment = f"env-py-{uuid.uuid4().hex[:8]}"
    other = f"env-other-{uuid.uuid4().hex[:8]}"
    ours = ts.seed("onprem-1", environment)
    theirs = ts.seed("onprem-2", other)
    consumer = make_worker("agent-py", environment_id=environment)
    assert consumer.open_queue() == stack["signal_channels"]["environments"]["url_prefix"] + environment
    make_worker("agent-other", environment_id=other).open_queue()
    assert ts.stop(ours) == 200
    assert ts.stop(theirs) == 200
    assert poll_until_handled(consumer) == 1
    assert consumer.poll_once(1) == 0
    assert_acknowledged(dynamodb, stack, ours, environment)
    assert "stop_acknowledged_at" not in stored(dynamodb, stack, theirs)
