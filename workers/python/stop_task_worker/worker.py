"""The reference worker in Python: how a worker (or a self-hosted environment's consumer) honours a stop.

It mirrors lib/worker/reference-worker.ts. Each worker long-polls a queue of its own, named from its
``worker_id``; a stop cancels the task it names (an ``asyncio.Task`` is cancelled, a thread's
``threading.Event`` is set), then the worker acknowledges (a conditional write) and deletes the
message. Every heartbeat is a conditional write that answers ``stop_requested`` once the task is
stopped, so a worker learns of a stop within one heartbeat even if its message was lost.

Threads: ``poll_once`` and ``start_polling`` block (boto3 is synchronous); run them in a thread of
their own (``asyncio.to_thread(worker.poll_once, 20)``), never on the event loop an asyncio task
of this worker runs on, since halting waits for the task to let go of its work.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Literal, Optional

from .channels import ENVIRONMENTS, LONG_POLL_SECONDS, QUEUE_REFRESH_INTERVAL_SECONDS, WORKERS, SignalQueueSettings
from .execution_updates import EnvironmentOwner, ExecutionUpdates, StopOwner, WorkerOwner
from .signal_queue import ensure_signal_queue, is_queue_gone, mark_signal_queue_seen
from .stop_message import StopMessage, parse_stop_message

TaskEnd = Literal["completed", "failed", "stopped"]
Log = Callable[[str, dict[str, Any]], None]
#: A thread task's body: works until done, checking (or waiting on) the event; returns its result.
ThreadBody = Callable[[threading.Event], str]
#: An asyncio task's body: a coroutine function; a stop cancels the task it runs as.
AsyncBody = Callable[[], Awaitable[str]]


def _no_log(event: str, fields: dict[str, Any]) -> None:
    return None


@dataclass
class _RunningTask:
    #: Set when a stop halts the task (for a thread task, the very event its body watches).
    aborted: threading.Event
    #: Set once the task has let go of its work (its runner returned).
    settled: threading.Event = field(default_factory=threading.Event)
    cancel: Callable[[], None] = lambda: None
    loop: Optional[asyncio.AbstractEventLoop] = None


class ReferenceWorker:
    def __init__(
        self,
        *,
        worker_id: str,
        sqs: Any,
        signal_queue: SignalQueueSettings,
        updates: ExecutionUpdates,
        environment_id: Optional[str] = None,
        heartbeat_interval_seconds: float = 5.0,
        poll_wait_seconds: Optional[int] = None,
        log: Optional[Log] = None,
    ) -> None:
        """``sqs``'s read timeout must be longer than the long poll (20 s): botocore's default, 60 s, is."""
        self.worker_id = worker_id
        self.environment_id = environment_id
        self._sqs = sqs
        channel = signal_queue.channel or (ENVIRONMENTS if environment_id else WORKERS)
        self._signal_queue = SignalQueueSettings(signal_queue.name_prefix, signal_queue.dead_letter_queue_arn, channel)
        self._owner_id = environment_id if environment_id else worker_id
        self._updates = updates
        self._heartbeat_interval = heartbeat_interval_seconds
        self._poll_wait = LONG_POLL_SECONDS if poll_wait_seconds is None else poll_wait_seconds
        self._log = log or _no_log
        self._running: dict[str, _RunningTask] = {}
        self._lock = threading.Lock()
        self._queue_url: Optional[str] = None
        self._last_seen_at = 0.0
        self._polling = threading.Event()
        self._pause = threading.Event()

    # -- the queue ---------------------------------------------------------------------------

    def open_queue(self) -> str:
        """Creates (or finds) this worker's queue and returns its URL; do it before taking tasks."""
        with self._lock:
            if self._queue_url is None:
                self._queue_url = ensure_signal_queue(self._sqs, self._signal_queue, self._owner_id)
                self._last_seen_at = time.monotonic()
            return self._queue_url

    def running_tasks(self) -> list[str]:
        with self._lock:
            return list(self._running)

    # -- stops -------------------------------------------------------------------------------

    def _stop_owner(self) -> StopOwner:
        return EnvironmentOwner(self.environment_id) if self.environment_id else WorkerOwner(self.worker_id)

    def _acknowledge(self, task_id: str) -> None:
        result = self._updates.acknowledge_stop(task_id, self._stop_owner())
        self._log("stop acknowledged", {"task_id": task_id, "result": result})

    def _halt(self, task_id: str, why: str) -> None:
        """Cancels a local task (if it runs here) and waits until it has let go of its work."""
        with self._lock:
            task = self._running.get(task_id)
        if task is None:
            return
        self._log("aborting task", {"task_id": task_id, "why": why})
        task.aborted.set()
        task.cancel()
        try:
            on_its_loop = task.loop is not None and asyncio.get_running_loop() is task.loop
        except RuntimeError:
            on_its_loop = False
        # Waiting on the task's own loop would block the very loop that must run its cancellation.
        if not on_its_loop:
            task.settled.wait()

    def _is_mine(self, message: StopMessage) -> bool:
        if self.environment_id:
            return message.environment_id == self.environment_id
        with self._lock:
            runs_here = message.task_id in self._running
        return message.worker_id == self.worker_id or runs_here

    def honour_stop(self, stop: StopMessage) -> Literal["handled", "not_mine"]:
        """Halts the task the stop names and acknowledges it; ``not_mine`` for a stop this worker must leave alone."""
        if not self._is_mine(stop):
            return "not_mine"
        fields: dict[str, Any] = {"task_id": stop.task_id, "reason": stop.reason, "requested_by": stop.requested_by}
        if stop.limit is not None:
            fields["limit"] = stop.limit.model_dump()
        self._log("stop received", fields)
        self._halt(stop.task_id, stop.reason)
        self._acknowledge(stop.task_id)
        return "handled"

    def _handle_message(self, url: str, message: dict[str, Any]) -> Literal["handled", "discarded"]:
        # Not JSON, not a stop, or a version this kit does not know: unreadable, never a crash.
        stop = parse_stop_message(message.get("Body"))
        # Acknowledge before deleting: if the worker dies in between, the message comes back and is
        # acknowledged again (idempotent).
        result = self.honour_stop(stop) if stop is not None else "unreadable"
        if result == "unreadable":
            self._log("unreadable stop message discarded", {"message_id": message.get("MessageId")})
        # Only this worker reads its queue, so a stop for a task it neither owns nor runs has no one
        # else to go to here: the heartbeat and the cleanup's re-drive reach the task's real worker.
        # Left on the queue, it would come back until the dead-letter queue took it (and alarmed).
        if result == "not_mine":
            self._log("stop for another worker discarded", {"message_id": message.get("MessageId")})
        self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return "handled" if result == "handled" else "discarded"

    def poll_once(self, wait_seconds: int = 0) -> int:
        """One receive of up to ten stop messages from this worker's own queue; returns how many it honoured."""
        url = self.open_queue()
        if time.monotonic() - self._last_seen_at >= QUEUE_REFRESH_INTERVAL_SECONDS:
            self._last_seen_at = time.monotonic()
            mark_signal_queue_seen(self._sqs, url)
        try:
            response = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, MessageAttributeNames=["All"]
            )
        except Exception as error:
            # Deleted while this worker was away (the sweep judged it gone): make it again.
            if is_queue_gone(error):
                with self._lock:
                    self._queue_url = None
            raise
        handled = 0
        for message in response.get("Messages", []):
            try:
                if self._handle_message(url, message) == "handled":
                    handled += 1
            except Exception as error:  # one message's failure never loses the others
                self._log("stop message failed", {"message_id": message.get("MessageId"), "error": str(error)})
        return handled

    def start_polling(self) -> None:
        """Long-polls until ``stop_polling()`` (blocking: run it in a thread)."""
        self._polling.set()
        self._pause.clear()
        while self._polling.is_set():
            try:
                self.poll_once(self._poll_wait)
            except Exception as error:
                self._log("receive failed", {"error": str(error)})
                self._pause.wait(1.0)

    def stop_polling(self) -> None:
        self._polling.clear()
        self._pause.set()

    # -- tasks -------------------------------------------------------------------------------

    def _heartbeat_loop(self, task_id: str, task: _RunningTask) -> None:
        while not task.settled.wait(self._heartbeat_interval):
            try:
                result = self._updates.heartbeat(task_id, self.worker_id)
                if result == "stop_requested" and not task.aborted.is_set():
                    self._halt(task_id, "heartbeat saw the stop")
                    self._acknowledge(task_id)
            except Exception as error:
                self._log("heartbeat failed", {"task_id": task_id, "error": str(error)})

    def _register(self, task_id: str, task: _RunningTask) -> None:
        with self._lock:
            self._running[task_id] = task
        threading.Thread(target=self._heartbeat_loop, args=(task_id, task), daemon=True, name=f"heartbeat-{task_id}").start()

    def _settle(self, task_id: str, task: _RunningTask) -> None:
        with self._lock:
            if self._running.get(task_id) is task:
                del self._running[task_id]
        task.settled.set()

    def _finished(self, task_id: str, result: str) -> TaskEnd:
        finished = self._updates.complete(task_id, self.worker_id, result)
        if finished.kind == "already_terminal" and finished.status == "stopped":
            # The stop won the race with our own completion: honour it.
            self._acknowledge(task_id)
            return "stopped"
        return "completed"

    def run_thread(self, task_id: str, body: ThreadBody) -> "Future[TaskEnd]":
        """Runs ``body(stop_event)`` in a thread, heartbeating; a stop sets the event. Finishes it unless stopped."""
        task = _RunningTask(aborted=threading.Event())
        future: Future[TaskEnd] = Future()

        def runner() -> None:
            try:
                try:
                    result = body(task.aborted)
                except Exception as error:
                    if task.aborted.is_set():
                        future.set_result("stopped")
                        return
                    self._updates.fail(task_id, self.worker_id, str(error))
                    future.set_result("failed")
                    return
                future.set_result("stopped" if task.aborted.is_set() else self._finished(task_id, result))
            except BaseException as error:
                if not future.done():
                    future.set_exception(error)
            finally:
                self._settle(task_id, task)

        self._register(task_id, task)
        threading.Thread(target=runner, daemon=True, name=f"task-{task_id}").start()
        return future

    async def run_async(self, task_id: str, body: AsyncBody) -> TaskEnd:
        """Runs ``body()`` as an ``asyncio.Task``, heartbeating; a stop cancels it. Finishes it unless stopped."""
        loop = asyncio.get_running_loop()
        inner: asyncio.Task[str] = loop.create_task(_await(body()))
        task = _RunningTask(aborted=threading.Event(), loop=loop)
        task.cancel = lambda: loop.call_soon_threadsafe(inner.cancel)
        self._register(task_id, task)
        try:
            try:
                result = await inner
            except asyncio.CancelledError:
                if task.aborted.is_set():
                    return "stopped"
                raise
            except Exception as error:
                if task.aborted.is_set():
                    return "stopped"
                await asyncio.to_thread(self._updates.fail, task_id, self.worker_id, str(error))
                return "failed"
            if task.aborted.is_set():
                return "stopped"
            return await asyncio.to_thread(self._finished, task_id, result)
        finally:
            self._settle(task_id, task)


async def _await(awaitable: Awaitable[str]) -> str:
    return await awaitable
