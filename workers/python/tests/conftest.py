"""Fixtures for the kit's tests: the stack and the TypeScript side that test/integration/worker/python-kit.test.ts serves.

The suite runs only under that vitest file (``npm test``), which provisions an isolated stack on the real emulators
(DynamoDB Local and fauxqs) and passes it in ``STOP_TASK_TEST_STACK``, with ``STOP_TASK_TEST_CONTROL``: a loopback
URL whose calls run the TypeScript implementation (the real stop function, the TypeScript worker's writes).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from typing import Any, Callable, Iterator, Optional

import boto3
import pytest
from botocore.config import Config

from stop_task_worker import ExecutionUpdates, ReferenceWorker, SignalQueueSettings

Stack = dict[str, Any]


def _stack() -> Stack:
    raw = os.environ.get("STOP_TASK_TEST_STACK")
    if not raw:
        pytest.exit("run through npm test (test/integration/worker/python-kit.test.ts): STOP_TASK_TEST_STACK is not set", 2)
    stack: Stack = json.loads(raw)
    return stack


@pytest.fixture(scope="session")
def stack() -> Stack:
    return _stack()


class TypeScriptSide:
    """Calls into the TypeScript implementation, over loopback."""

    def __init__(self, url: str) -> None:
        self._url = url

    def call(self, name: str, **body: Optional[str]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self._url}/{name}",
            data=json.dumps({key: value for key, value in body.items() if value is not None}).encode(),
            headers={"content-type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback only)
            answer: dict[str, Any] = json.loads(response.read())
            return answer

    def stop(self, task_id: str) -> int:
        """Stops the task through the real stop function."""
        return int(self.call("stop", task_id=task_id)["status"])

    def seed(self, worker_id: str, environment_id: Optional[str] = None) -> str:
        return str(self.call("seed", worker_id=worker_id, environment_id=environment_id)["task_id"])


@pytest.fixture(scope="session")
def ts() -> TypeScriptSide:
    return TypeScriptSide(os.environ["STOP_TASK_TEST_CONTROL"])


_LOCAL = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}


@pytest.fixture(scope="session")
def dynamodb(stack: Stack) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack["dynamodb_endpoint"], **_LOCAL)


@pytest.fixture(scope="session")
def sqs(stack: Stack) -> Any:
    # A long poll holds its request open: the read timeout must be longer.
    return boto3.client("sqs", endpoint_url=stack["sqs_endpoint"], config=Config(read_timeout=30), **_LOCAL)


@pytest.fixture(scope="session")
def updates(stack: Stack, dynamodb: Any) -> ExecutionUpdates:
    return ExecutionUpdates(dynamodb, stack["tables"]["executions"])


def channel_settings(stack: Stack, channel: str) -> SignalQueueSettings:
    resources = stack["signal_channels"][channel]
    return SignalQueueSettings(resources["name_prefix"], resources["dead_letter_arn"])


@pytest.fixture
def make_worker(stack: Stack, sqs: Any, updates: ExecutionUpdates) -> Iterator[Callable[..., ReferenceWorker]]:
    made: list[ReferenceWorker] = []

    def make(worker_id: str, environment_id: Optional[str] = None, **options: Any) -> ReferenceWorker:
        worker = ReferenceWorker(
            worker_id=worker_id,
            sqs=sqs,
            signal_queue=channel_settings(stack, "environments" if environment_id else "workers"),
            updates=updates,
            environment_id=environment_id,
            **options,
        )
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stop_polling()


def stored(dynamodb: Any, stack: Stack, task_id: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(
        TableName=stack["tables"]["executions"], Key={"id": {"S": task_id}}, ConsistentRead=True
    ).get("Item", {})
    return item


def eventually(check: Callable[[], bool], timeout: float = 10.0, every: float = 0.05) -> None:
    """Polls ``check`` until it holds (never a fixed sleep as synchronization)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(every)


def poll_until_handled(worker: ReferenceWorker, count: int = 1, timeout: float = 10.0) -> int:
    """Long-polls the worker's queue (1 s at a time) until it has honoured ``count`` stops."""
    handled = 0
    deadline = time.monotonic() + timeout
    while handled < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{handled} of {count} stops honoured within {timeout} s")
        handled += worker.poll_once(1)
    return handled
