"""The worker's side of an execution's record: lib/worker/execution-updates.ts, write for write."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Literal, Optional, Union

from .conditions import (
    EXECUTION_EXISTS,
    IN_ACTIVE_STATE,
    IS_STOPPED,
    TERMINAL_STATUSES,
    ExpressionPart,
    all_of,
    conditional_update,
    is_unset,
    runs_in_environment,
    runs_on_worker,
    update_request,
)
from .timestamps import format_timestamp, utc_now

AcknowledgeResult = Literal["acknowledged", "not_stopped", "not_found", "not_owner"]
HeartbeatResult = Literal["alive", "stop_requested", "not_running"]

#: lib/resources.ts: the sparse index keys' attribute names and the shard count.
SIGNAL_SHARD = "idx_signal_shard"
SIGNAL_DUE_AT = "idx_signal_due_at"
ACTIVE_SHARD = "idx_active_shard"
HEARTBEAT_AT = "idx_heartbeat_at"
ACTIVE_SINCE = "idx_active_since"
#: lib/executions/repository.ts: when the stop's signal began waiting for its owner.
SIGNAL_PENDING_SINCE = "signal_pending_since"
INDEX_SHARDS = 4

# JavaScript's parseInt(text, 16): leading white space, a sign, an optional 0x, then the longest run of hex digits.
_JS_WHITE_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_HEX_PREFIX = re.compile(r"([+-]?)(?:0[xX])?([0-9a-fA-F]*)")


def _js_parse_hex(text: str) -> Optional[int]:
    match = _HEX_PREFIX.match(text.lstrip(_JS_WHITE_SPACE))
    if match is None or match.group(2) == "":
        return None
    value = int(match.group(2), 16)
    return -value if match.group(1) == "-" else value


def index_shard(family: Literal["signal", "active"], task_id: str) -> str:
    """lib/executions/indexes.ts ``indexShard``: from the first 8 characters (UTF-16 units) of the id, read as hex."""
    head = task_id.encode("utf-16-le", "surrogatepass")[:16].decode("utf-16-le", "replace")
    bucket = _js_parse_hex(head)
    # JavaScript's % keeps the dividend's sign.
    shard = int(math.fmod(bucket, INDEX_SHARDS)) if bucket is not None else 0
    return f"{family}#{shard}"


@dataclass(frozen=True)
class WorkerOwner:
    worker_id: str


@dataclass(frozen=True)
class EnvironmentOwner:
    environment_id: str


StopOwner = Union[WorkerOwner, EnvironmentOwner]


@dataclass(frozen=True)
class FinishResult:
    kind: Literal["finished", "already_terminal", "not_found"]
    status: Optional[str] = None


class ExecutionUpdates:
    """Every write is conditional: a worker and a stop racing for one execution cannot overwrite each other."""

    def __init__(self, client: Any, table_name: str, clock: Callable[[], datetime] = utc_now) -> None:
        self._client = client
        self._table_name = table_name
        self._clock = clock

    def _now(self) -> str:
        return format_timestamp(self._clock())

    def _request(
        self, task_id: str, condition: ExpressionPart, update: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any]:
        return update_request(self._table_name, {"id": {"S": task_id}}, condition, update, names, values)

    @staticmethod
    def _running_on(worker_id: str) -> ExpressionPart:
        """Only the worker running it may heartbeat or finish it, and only while nothing has finished it."""
        return all_of(EXECUTION_EXISTS, runs_on_worker(worker_id), IN_ACTIVE_STATE)

    # The requests, apart, so that tests can compare them with the TypeScript ones.
    def acknowledge_request(self, task_id: str, by: StopOwner, at: str) -> dict[str, Any]:
        owned = runs_on_worker(by.worker_id) if isinstance(by, WorkerOwner) else runs_in_environment(by.environment_id)
        acknowledged_by = by.worker_id if isinstance(by, WorkerOwner) else by.environment_id
        return self._request(
            task_id,
            all_of(IS_STOPPED, owned, is_unset("stop_acknowledged_at")),
            "SET stop_acknowledged_at = :now, stop_acknowledged_by = :by REMOVE #signal_shard, #signal_due_at, #pending",
            {"#signal_shard": SIGNAL_SHARD, "#signal_due_at": SIGNAL_DUE_AT, "#pending": SIGNAL_PENDING_SINCE},
            {":now": {"S": at}, ":by": {"S": acknowledged_by}},
        )

    def heartbeat_request(self, task_id: str, worker_id: str, at: str) -> dict[str, Any]:
        return self._request(
            task_id,
            self._running_on(worker_id),
            "SET #heartbeat_at = :now, #active_shard = :active_shard, #active_since = if_not_exists(#active_since, :now)",
            {"#heartbeat_at": HEARTBEAT_AT, "#active_shard": ACTIVE_SHARD, "#active_since": ACTIVE_SINCE},
            {":now": {"S": at}, ":active_shard": {"S": index_shard("active", task_id)}},
        )

    def finish_request(self, task_id: str, worker_id: str, status: str, result: str, at: str) -> dict[str, Any]:
        return self._request(
            task_id,
            self._running_on(worker_id),
            "SET #status = :status, finished_at = :now, updated_at = :now, #result = "
            ":result, version = if_not_exists(version, :zero) + :one REMOVE #active_shard",
            {"#status": "status", "#result": "result", "#active_shard": ACTIVE_SHARD},
            {
                ":status": {"S": status},
                ":now": {"S": at},
                ":result": {"S": result},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
            },
        )

    def acknowledge_stop(self, task_id: str, by: StopOwner) -> AcknowledgeResult:
        """Records that its owner halted the task; the stop leaves the signal-redrive index. Its owner only."""
        acknowledged_by = by.worker_id if isinstance(by, WorkerOwner) else by.environment_id
        # An empty id names nobody, though it would equal the "" a writer may store for "unassigned".
        if acknowledged_by == "":
            return "not_owner"
        outcome = conditional_update(self._client, self.acknowledge_request(task_id, by, self._now()))
        if outcome.applied:
            return "acknowledged"
        if outcome.old is None:
            return "not_found"
        owner_attribute = "worker_id" if isinstance(by, WorkerOwner) else "environment_id"
        if outcome.old.get(owner_attribute, {}).get("S") != acknowledged_by:
            return "not_owner"
        # Refused because an earlier acknowledgement is already recorded: this one agrees with it.
        return "acknowledged" if outcome.old.get("status", {}).get("S") == "stopped" else "not_stopped"

    def heartbeat(self, task_id: str, worker_id: str) -> HeartbeatResult:
        """Proves the worker is alive; answers ``stop_requested`` once the task has been stopped."""
        outcome = conditional_update(self._client, self.heartbeat_request(task_id, worker_id, self._now()))
        if outcome.applied:
            return "alive"
        return "stop_requested" if (outcome.old or {}).get("status", {}).get("S") == "stopped" else "not_running"

    def _finish(self, task_id: str, worker_id: str, status: str, result: str) -> FinishResult:
        outcome = conditional_update(self._client, self.finish_request(task_id, worker_id, status, result, self._now()))
        if outcome.applied:
            return FinishResult("finished")
        if outcome.old is None:
            return FinishResult("not_found")
        current = outcome.old.get("status", {}).get("S")
        if current in TERMINAL_STATUSES:
            return FinishResult("already_terminal", current)
        raise RuntimeError(
            f"finish of {task_id} refused: the execution runs on another worker, or its status is not one this service knows"
        )

    def complete(self, task_id: str, worker_id: str, result: str) -> FinishResult:
        return self._finish(task_id, worker_id, "completed", result)

    def fail(self, task_id: str, worker_id: str, result: str) -> FinishResult:
        return self._finish(task_id, worker_id, "failed", result)


def liveness_index_keys(task_id: str, started_at: str) -> dict[str, str]:
    """The liveness keys this service's own writers give a running execution (lib/executions/indexes.ts)."""
    return {ACTIVE_SHARD: index_shard("active", task_id), HEARTBEAT_AT: started_at, ACTIVE_SINCE: started_at}
