"""The Python worker kit's flows, every AWS call recorded: run by deployed-permissions.test.ts.

Each call is recorded by a botocore hook on the kit's own clients (``before-parameter-build``: once
per call, with the operation's parameters as the kit passed them), the boto3 counterpart of the
middleware test/support/aws-call-counter.ts adds to the JavaScript clients. One JSON line per call
goes to the file named by ``STOP_TASK_CALL_LOG``, with the owner whose credentials would send it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.config import Config

from stop_task_worker import ExecutionUpdates, ReferenceWorker, SignalQueueSettings, mark_signal_queue_seen

stack = json.loads(os.environ["STOP_TASK_TEST_STACK"])
flows = json.loads(os.environ["STOP_TASK_FLOWS"])
log = open(os.environ["STOP_TASK_CALL_LOG"], "w", encoding="utf-8")
owner: dict[str, str] = {}
scenario = {"name": ""}

local = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
dynamodb = boto3.client("dynamodb", endpoint_url=stack["dynamodb_endpoint"], **local)
sqs = boto3.client("sqs", endpoint_url=stack["sqs_endpoint"], config=Config(read_timeout=30), **local)


def record(params: dict[str, Any], model: Any, **_: Any) -> None:
    line = {
        "owner": dict(owner),
        "scenario": scenario["name"],
        "service": model.service_model.service_name,
        "operation": model.name,
        "params": params,
    }
    log.write(json.dumps(line, default=str) + "\n")


for client in (dynamodb, sqs):
    client.meta.events.register("before-parameter-build", record)

updates = ExecutionUpdates(dynamodb, stack["tables"]["executions"])


def settings(channel: str) -> SignalQueueSettings:
    found = stack["signal_channels"][channel]
    return SignalQueueSettings(found["name_prefix"], found["dead_letter_arn"])


# A worker: its queue, a stop it honours (acknowledge, delete), a heartbeat and the end of a task.
worker_id = flows["worker_id"]
owner.update(kind="worker", id=worker_id)
scenario["name"] = "python kit: a worker opens its queue and honours a stop"
worker = ReferenceWorker(worker_id=worker_id, sqs=sqs, signal_queue=settings("workers"), updates=updates, poll_wait_seconds=0)
url = worker.open_queue()
assert worker.poll_once(1) == 1, "the stop sent before the run was not honoured"
mark_signal_queue_seen(sqs, url)
scenario["name"] = "python kit: a worker heartbeats and finishes a task"
assert updates.heartbeat(flows["running_task_id"], worker_id) == "alive"
assert updates.complete(flows["running_task_id"], worker_id, "done").kind == "finished"

# A self-hosted environment's consumer: its queue and a command it honours.
environment_id = flows["environment_id"]
owner.update(kind="environment", id=environment_id)
scenario["name"] = "python kit: an environment's consumer honours a stop"
consumer = ReferenceWorker(
    worker_id=worker_id,
    environment_id=environment_id,
    sqs=sqs,
    signal_queue=settings("environments"),
    updates=updates,
    poll_wait_seconds=0,
)
consumer.open_queue()
assert consumer.poll_once(1) == 1, "the environment's stop sent before the run was not honoured"
log.close()
