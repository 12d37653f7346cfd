"""The stop signal as workers receive it: a pydantic mirror of lib/signals/stop-message.ts ``stopMessageSchema``."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)

STOP_MESSAGE_TYPE = "task.stop"
STOP_MESSAGE_VERSION = 1

# zod's z.iso.datetime(): UTC `Z` only, seconds required, any fraction, real calendar dates.
_ISO_DATETIME = re.compile(
    r"^(?:(?:\d\d[2468][048]|\d\d[13579][26]|\d\d0[48]|[02468][048]00|[13579][26]00)-02-29|\d{4}-(?:(?:0[13578]|1[02])"
    r"-(?:0[1-9]|[12]\d|3[01])|(?:0[469]|11)-(?:0[1-9]|[12]\d|30)|(?:02)-(?:0[1-9]|1\d|2[0-8])))T(?:(?:[01]\d|2[0-3])"
    r":[0-5]\d:[0-5]\d(?:\.\d+)?(?:Z))\Z",
    re.ASCII,
)


def _iso_datetime(value: str) -> str:
    if not _ISO_DATETIME.match(value):
        raise ValueError("Invalid ISO datetime")
    return value


def _version_one(value: object) -> int:
    # z.literal(1): the number 1 (1.0 is the same JSON number), never `true`.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != STOP_MESSAGE_VERSION:
        raise ValueError(f"expected version {STOP_MESSAGE_VERSION}")
    return STOP_MESSAGE_VERSION


IsoDatetime = Annotated[StrictStr, AfterValidator(_iso_datetime)]
# z.number(): any finite JSON number, never a boolean.
Number = Union[StrictInt, Annotated[StrictFloat, AllowInfNan(False)]]


class LimitCrossing(BaseModel):
    """lib/limits.ts ``limitCrossingSchema``: the limit crossed and the usage that crossed it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    limit_name: Literal["max_tokens", "max_tool_calls", "max_duration_seconds"]
    limit: Number
    usage: Number


class StopMessage(BaseModel):
    """Unknown fields are ignored (as zod's object strips them); every known one is checked strictly."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    type: Literal["task.stop"]
    version: Annotated[int, BeforeValidator(_version_one)]
    task_id: StrictStr
    organization_id: StrictStr
    agent_id: StrictStr
    worker_id: Optional[StrictStr]
    environment_id: Optional[StrictStr]
    is_manually_stopped: StrictBool
    requested_at: IsoDatetime
    requested_by: StrictStr
    reason: StrictStr
    #: The caller's own words, when it gave any; absent from messages sent before it existed.
    note: Optional[StrictStr] = None
    #: A runaway guard's stop only.
    limit: Optional[LimitCrossing] = None

    @field_validator("limit", mode="before")
    @classmethod
    def _limit_never_null(cls, value: object) -> object:
        # z.optional(limitCrossingSchema): absent, or a crossing; an explicit null is refused.
        if value is None:
            raise ValueError("limit may be absent but not null")
        return value


def parse_stop_message(body: str | None) -> StopMessage | None:
    """The stop a message body holds, or None when it is not JSON or not a stop of this version."""
    if body is None:
        return None
    try:
        return StopMessage.model_validate_json(body)
    except ValidationError:
        return None
