"""``python3 -m stop_task_worker.demo``: the Python reference worker against ``npm start``, as ``npm run worker`` is.

It reads ``.local/stack.json`` (found from the current directory upwards, or ``--stack-file``), makes its own
stop-signal queue, seeds a few running tasks assigned to it, runs them (the first as an ``asyncio`` task, the
others in threads watching a ``threading.Event``), heartbeats, and prints each stop it receives. Stop one of the
printed ids with curl. ``--environment ENV`` consumes a self-hosted environment's channel instead.

``--tasks-from-stdin`` seeds nothing: it runs the task ids it reads on stdin (tasks already recorded as running
on it), alternating ``asyncio`` and thread tasks, and prints ``halted <task id>`` when a stop halts one. That is how
``npm run conformance`` drives a worker; it names the stack file and the worker id in the environment
(``STOP_TASK_STACK_FILE``, ``STOP_TASK_WORKER_ID``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import boto3
from botocore.config import Config

from .channels import SignalQueueSettings
from .execution_updates import ExecutionUpdates, liveness_index_keys
from .timestamps import format_timestamp, utc_now
from .worker import ReferenceWorker

DEMO_API_KEY = "sk_local_demo_key_do_not_use_in_production"
DEMO_ORGANIZATION = "org-demo"
STACK_FILE = Path(".local") / "stack.json"


def find_stack_file(given: Optional[str]) -> Path:
    if given:
        return Path(given)
    for directory in [Path.cwd(), *Path.cwd().parents]:
        if (directory / STACK_FILE).is_file():
            return directory / STACK_FILE
    raise SystemExit("worker: no local stack found (.local/stack.json): run npm start first")


def log(event: str, fields: dict[str, Any]) -> None:
    moment = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    print(f"{moment} {event} {json.dumps(fields, separators=(',', ':'), default=str)}", flush=True)


def seed_task(dynamodb: Any, table: str, worker_id: str, organization: str, index: int, environment: Optional[str]) -> str:
    now = format_timestamp(utc_now())
    task_id = str(uuid.uuid4())
    item: dict[str, Any] = {
        "id": {"S": task_id},
        "agent_id": {"S": "agent-python-worker"},
        "organization_id": {"S": organization},
        "input": {"M": {"text": {"S": f"fake task {index + 1}"}, "files": {"L": []}}},
        "status": {"S": "executing"},
        "created_at": {"S": now},
        "started_at": {"S": now},
        "worker_id": {"S": worker_id},
        "source": {"S": "api"},
        **{name: {"S": value} for name, value in liveness_index_keys(task_id, now).items()},
    }
    if environment:
        item["environment_id"] = {"S": environment}
    dynamodb.put_item(TableName=table, Item=item)
    return task_id


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python3 -m stop_task_worker.demo", description=__doc__)
    parser.add_argument("--worker-id", default=os.environ.get("STOP_TASK_WORKER_ID") or f"worker-python-{os.getpid()}")
    parser.add_argument("--environment", default=None)
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--step-ms", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--heartbeat-ms", type=int, default=2000)
    parser.add_argument("--poll-wait-seconds", type=int, default=20)
    parser.add_argument("--organization", default=DEMO_ORGANIZATION)
    parser.add_argument("--stack-file", default=os.environ.get("STOP_TASK_STACK_FILE"))
    parser.add_argument("--tasks-from-stdin", action="store_true")
    args = parser.parse_args(argv)

    stack = json.loads(find_stack_file(args.stack_file).read_text())
    credentials = {"region_name": stack["region"], "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    dynamodb = boto3.client("dynamodb", endpoint_url=stack["dynamodb_endpoint"], **credentials)
    # A long poll holds its request open up to 20 s: the client must wait longer than that.
    sqs = boto3.client("sqs", endpoint_url=stack["sqs_endpoint"], config=Config(read_timeout=30), **credentials)
    channel = stack["signal_channels"]["environments" if args.environment else "workers"]
    table = stack["tables"]["executions"]
    worker = ReferenceWorker(
        worker_id=args.worker_id,
        sqs=sqs,
        signal_queue=SignalQueueSettings(channel["name_prefix"], channel["dead_letter_arn"]),
        updates=ExecutionUpdates(dynamodb, table),
        environment_id=args.environment,
        heartbeat_interval_seconds=args.heartbeat_ms / 1000,
        poll_wait_seconds=args.poll_wait_seconds,
        log=log,
    )
    # The queue first, then the tasks: a stop must never find this worker's queue missing.
    log("own stop-signal queue ready", {"queue_url": worker.open_queue()})
    asyncio.run(run_tasks_from_stdin(worker, args) if args.tasks_from_stdin else run(worker, dynamodb, table, args))


def fake_agents(args: argparse.Namespace) -> tuple[Any, Any]:
    """A fake agent's body in both forms: an ``asyncio`` coroutine, and a thread watching its ``threading.Event``."""
    step = args.step_ms / 1000

    async def async_agent() -> str:
        for _ in range(args.steps):
            await asyncio.sleep(step)
        return f"finished {args.steps} steps"

    def thread_agent(stop: threading.Event) -> str:
        for _ in range(args.steps):
            if stop.wait(step):
                return "halted"
        return f"finished {args.steps} steps"

    return async_agent, thread_agent


async def run_tasks_from_stdin(worker: ReferenceWorker, args: argparse.Namespace) -> None:
    """Runs each task id read on stdin once, and says ``halted <task id>`` when a stop halts it."""
    async_agent, thread_agent = fake_agents(args)
    loop = asyncio.get_running_loop()
    taken = 0

    def report(task_id: str, done: "asyncio.Future[Any]") -> None:
        end = done.result()
        log("task ended", {"task_id": task_id, "end": end})
        if end == "stopped":
            print(f"halted {task_id}", flush=True)

    def take(task_id: str) -> None:
        nonlocal taken
        if task_id in worker.running_tasks():
            return
        kind = "asyncio" if taken % 2 == 0 else "thread"
        taken += 1
        log("task taken", {"task_id": task_id, "runs_as": kind})
        if kind == "asyncio":
            end: asyncio.Future[Any] = asyncio.ensure_future(worker.run_async(task_id, async_agent))
        else:
            end = asyncio.wrap_future(worker.run_thread(task_id, thread_agent))
        end.add_done_callback(lambda done: report(task_id, done))

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(take, line.strip())

    threading.Thread(target=read_stdin, daemon=True, name="stdin").start()
    log("listening for stops", {"worker_id": worker.worker_id})
    await asyncio.to_thread(worker.start_polling)


async def run(worker: ReferenceWorker, dynamodb: Any, table: str, args: argparse.Namespace) -> None:
    async_agent, thread_agent = fake_agents(args)

    ends: list[asyncio.Future[Any]] = []
    for index in range(args.tasks):
        task_id = seed_task(dynamodb, table, worker.worker_id, args.organization, index, args.environment)
        kind = "asyncio" if index == 0 else "thread"
        log("task started", {"task_id": task_id, "runs_as": kind})
        if index == 0:
            end: asyncio.Future[Any] = asyncio.ensure_future(worker.run_async(task_id, async_agent))
        else:
            end = asyncio.wrap_future(worker.run_thread(task_id, thread_agent))
        end.add_done_callback(lambda done, task_id=task_id: log("task ended", {"task_id": task_id, "end": done.result()}))
        ends.append(end)
        if index == 0 and args.organization == DEMO_ORGANIZATION:
            api_url = json.loads(find_stack_file(args.stack_file).read_text())["api_url"]
            print(f"\n  stop it:  curl -s -X POST {api_url}/v1/tasks/{task_id}/stop -H 'x-api-key: {DEMO_API_KEY}'\n", flush=True)

    log("listening for stops", {"worker_id": worker.worker_id, "environment_id": args.environment})
    # Polling blocks (boto3): in a thread of its own, never on the loop the asyncio task runs on.
    poller = asyncio.ensure_future(asyncio.to_thread(worker.start_polling))
    try:
        await asyncio.gather(*ends)
    finally:
        worker.stop_polling()
    await poller


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
