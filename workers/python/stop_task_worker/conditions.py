"""The condition fragments of lib/conditional-writes.ts, string for string, and its one conditional UpdateItem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from botocore.exceptions import ClientError

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

#: lib/execution.ts: the statuses that are not terminal, in this order (the placeholders are numbered by it).
ACTIVE_STATUSES = ("pending", "executing", "paused", "error")
TERMINAL_STATUSES = ("completed", "failed", "stopped")


@dataclass(frozen=True)
class ExpressionPart:
    expression: str
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, AttributeValue] = field(default_factory=dict)


def all_of(*parts: ExpressionPart) -> ExpressionPart:
    names: dict[str, str] = {}
    values: dict[str, AttributeValue] = {}
    for part in parts:
        names.update(part.names)
        values.update(part.values)
    return ExpressionPart(" AND ".join(f"({part.expression})" for part in parts), names, values)


def item_exists(key_attribute: str) -> ExpressionPart:
    return ExpressionPart(f"attribute_exists(#exists_{key_attribute})", {f"#exists_{key_attribute}": key_attribute})


EXECUTION_EXISTS = item_exists("id")

IN_ACTIVE_STATE = ExpressionPart(
    "#status IN (" + ", ".join(f":active{index}" for index in range(len(ACTIVE_STATUSES))) + ")",
    {"#status": "status"},
    {f":active{index}": {"S": status} for index, status in enumerate(ACTIVE_STATUSES)},
)


def _attribute_equals(attribute_name: str, value: AttributeValue) -> ExpressionPart:
    return ExpressionPart(
        f"#eq_{attribute_name} = :eq_{attribute_name}",
        {f"#eq_{attribute_name}": attribute_name},
        {f":eq_{attribute_name}": value},
    )


IS_STOPPED = _attribute_equals("status", {"S": "stopped"})


def runs_on_worker(worker_id: str) -> ExpressionPart:
    return _attribute_equals("worker_id", {"S": worker_id})


def runs_in_environment(environment_id: str) -> ExpressionPart:
    return _attribute_equals("environment_id", {"S": environment_id})


def is_unset(attribute_name: str) -> ExpressionPart:
    """Absent, or stored as NULL by a writer that dumps every unset field."""
    name = f"#unset_{attribute_name}"
    return ExpressionPart(
        f"attribute_not_exists({name}) OR attribute_type({name}, :null_type)",
        {name: attribute_name},
        {":null_type": {"S": "NULL"}},
    )


@dataclass(frozen=True)
class UpdateOutcome:
    applied: bool
    #: Refused: the item as DynamoDB saw it (None when there is none).
    old: Optional[Item] = None


def update_request(
    table_name: str,
    key: Item,
    condition: ExpressionPart,
    update: str,
    names: dict[str, str],
    values: dict[str, AttributeValue],
) -> dict[str, Any]:
    """The UpdateItem request lib/conditional-writes.ts ``conditionalUpdate`` sends, parameter for parameter."""
    all_values = {**condition.values, **values}
    request: dict[str, Any] = {
        "TableName": table_name,
        "Key": key,
        "ConditionExpression": condition.expression,
        "UpdateExpression": update,
        "ExpressionAttributeNames": {**condition.names, **names},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if all_values:
        request["ExpressionAttributeValues"] = all_values
    return request


def conditional_update(client: Any, request: dict[str, Any]) -> UpdateOutcome:
    """One conditional UpdateItem whose refused condition is an answer, not an error; any other failure raises."""
    try:
        client.update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise
        old = error.response.get("Item")
        return UpdateOutcome(applied=False, old=old if old else None)
    return UpdateOutcome(applied=True)
