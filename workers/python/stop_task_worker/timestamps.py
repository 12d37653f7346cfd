"""Timestamps in the one form the service writes: RFC 3339 UTC with microseconds (lib/timestamp.ts)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_timestamp(moment: datetime) -> str:
    """``2026-12-01T09:00:00.123456Z``: fixed width, so index keys sort as strings in time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
