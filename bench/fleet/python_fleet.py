"""The fleet bench's Python workers: M reference workers of the kit (stop_task_worker) in one process.

Bench-only, not a kit feature: it times halts and speaks the bench's line protocol. Each worker is a
``ReferenceWorker`` exactly as the kit ships it: its own boto3 SQS and DynamoDB clients, its own
queue, its own long-polling thread, a heartbeat thread per task and the real acknowledgement. The
bench (bench/fleet/python-fleet.ts) runs several of these processes side by side, since 200 Python
processes would not fit on a small machine; only the interpreter is shared.

Tasks alternate between the kit's two kinds: an ``asyncio`` task on this process's event loop
(``run_async``: a stop cancels it) and a thread (``run_thread``: a stop sets its event). A halt is
timed where the body lets go (the ``CancelledError`` arrives, or the event's wait returns) in
milliseconds since the epoch (``time.time()``): the bench is another process, so both sides use
the wall clock.

Protocol, one JSON object a line. Out: ``{"event": "ready", "queues": {worker_id: url}}`` once every
queue is made; ``{"event": "running"}`` once the tasks are scheduled; ``{"event": "halted",
"task_id", "at_ms", "by": "message" | "heartbeat", "kind"}`` at each halt; ``{"event": "finished",
"received": n, "ends": {task_id: end}}`` at the end. In: ``{"command": "run", "tasks": {worker_id:
[task_id, ...]}}`` starts the tasks (and the polling), each at a random moment within one heartbeat
interval as in a fleet; ``{"command": "finish"}`` stops polling, lets every task still running
finish, and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from stop_task_worker import ExecutionUpdates, ReferenceWorker, SignalQueueSettings

_out_lock = threading.Lock()


def emit(message: dict[str, Any]) -> None:
    line = json.dumps(message, separators=(",", ":"))
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class FleetHost:
    def __init__(self, args: argparse.Namespace) -> None:
        stack = json.loads(Path(args.stack_file).read_text())
        self._heartbeat_seconds: float = args.heartbeat_seconds
        self._random = random.Random(args.seed)
        self._received = 0
        self._received_lock = threading.Lock()
        self._halts_by: dict[str, str] = {}
        self._released = threading.Event()
        self._release_async: asyncio.Event | None = None
        self._ends: dict[str, str] = {}
        self._ends_futures: list[asyncio.Future[Any]] = []
        credentials = {"region_name": stack["region"], "aws_access_key_id": "local", "aws_secret_access_key": "local"}
        # One session for the process (its model loader is shared), a client of each kind per worker.
        session = boto3.session.Session()
        channel = stack["signal_channels"]["workers"]
        self.workers: dict[str, ReferenceWorker] = {}
        for worker_id in args.workers.split(","):
            # A long poll holds its request open up to 20 s: the client must wait longer than that.
            sqs = session.client("sqs", endpoint_url=stack["sqs_endpoint"], config=Config(read_timeout=30), **credentials)
            sqs.meta.events.register("after-call.sqs.ReceiveMessage", self._count_received)
            dynamodb = session.client("dynamodb", endpoint_url=stack["dynamodb_endpoint"], **credentials)
            self.workers[worker_id] = ReferenceWorker(
                worker_id=worker_id,
                sqs=sqs,
                signal_queue=SignalQueueSettings(channel["name_prefix"], args.dead_letter_arn),
                updates=ExecutionUpdates(dynamodb, stack["tables"]["executions"]),
                heartbeat_interval_seconds=args.heartbeat_seconds,
                poll_wait_seconds=args.poll_wait_seconds,
                log=self._log,
            )

    def _count_received(self, parsed: dict[str, Any], **_: Any) -> None:
        with self._received_lock:
            self._received += len(parsed.get("Messages", []))

    def _log(self, event: str, fields: dict[str, Any]) -> None:
        # The kit logs why it halts just before it sets the task's event or cancels it.
        if event == "aborting task":
            self._halts_by[str(fields["task_id"])] = "heartbeat" if fields.get("why") == "heartbeat saw the stop" else "message"
        elif event in ("receive failed", "heartbeat failed", "stop message failed"):
            print(f"python fleet: {event} {fields}", file=sys.stderr, flush=True)

    def _halted(self, task_id: str, kind: str) -> None:
        at_ms = time.time() * 1000
        emit({"event": "halted", "task_id": task_id, "at_ms": at_ms, "by": self._halts_by.get(task_id, "unknown"), "kind": kind})

    def open_queues(self) -> dict[str, str]:
        return {worker_id: worker.open_queue() for worker_id, worker in self.workers.items()}

    def _thread_body(self, task_id: str) -> Any:
        def body(stop: threading.Event) -> str:
            # Waits on the very event a stop sets; the timeout only lets the end of the run release it.
            while not stop.wait(1.0):
                if self._released.is_set():
                    return "released"
            self._halted(task_id, "thread")
            return "halted"

        return body

    def _async_body(self, task_id: str) -> Any:
        release = self._release_async
        assert release is not None

        async def body() -> str:
            try:
                await release.wait()
            except asyncio.CancelledError:
                self._halted(task_id, "asyncio")
                raise
            return "released"

        return body

    async def _start_task(self, worker: ReferenceWorker, task_id: str, as_asyncio: bool) -> None:
        await asyncio.sleep(self._random.random() * self._heartbeat_seconds)
        if as_asyncio:
            end = await worker.run_async(task_id, self._async_body(task_id))
        else:
            end = await asyncio.wrap_future(worker.run_thread(task_id, self._thread_body(task_id)))
        self._ends[task_id] = end

    async def _start_polling(self, worker: ReferenceWorker) -> None:
        await asyncio.sleep(self._random.random() * self._heartbeat_seconds)
        # Polling blocks (boto3): a thread of its own, never this loop, as the kit asks.
        threading.Thread(target=worker.start_polling, daemon=True, name=f"poll-{worker.worker_id}").start()

    def run(self, tasks: dict[str, list[str]]) -> None:
        self._release_async = asyncio.Event()
        index = 0
        for worker_id, task_ids in tasks.items():
            worker = self.workers[worker_id]
            for task_id in task_ids:
                self._ends_futures.append(asyncio.ensure_future(self._start_task(worker, task_id, index % 2 == 0)))
                index += 1
        for worker in self.workers.values():
            asyncio.ensure_future(self._start_polling(worker))

    async def finish(self) -> None:
        for worker in self.workers.values():
            worker.stop_polling()
        self._released.set()
        if self._release_async is not None:
            self._release_async.set()
        await asyncio.wait_for(asyncio.gather(*self._ends_futures, return_exceptions=True), timeout=30)
        emit({"event": "finished", "received": self._received, "ends": self._ends})


async def serve(host: FleetHost) -> None:
    emit({"event": "ready", "queues": await asyncio.to_thread(host.open_queues)})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            break
        command = json.loads(line)
        if command["command"] == "run":
            host.run(command["tasks"])
            emit({"event": "running"})
        elif command["command"] == "finish":
            await host.finish()
            break


def main() -> None:
    parser = argparse.ArgumentParser(prog="python3 bench/fleet/python_fleet.py", description=__doc__)
    parser.add_argument("--stack-file", required=True)
    parser.add_argument("--dead-letter-arn", required=True)
    parser.add_argument("--workers", required=True, help="the worker ids this process hosts, comma-separated")
    parser.add_argument("--heartbeat-seconds", type=float, default=5.0)
    parser.add_argument("--poll-wait-seconds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    host = FleetHost(parser.parse_args())
    asyncio.run(serve(host))


if __name__ == "__main__":
    main()
