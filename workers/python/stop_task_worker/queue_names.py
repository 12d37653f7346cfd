"""Queue names of owners' stop-signal queues, as lib/signals/queue-names.ts derives them."""

from __future__ import annotations

import hashlib
import re

#: SQS's limits on a queue name: 1 to 80 characters, letters, digits, ``-`` and ``_``.
MAX_QUEUE_NAME_LENGTH = 80
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")
_UNSAFE_CHARACTER = re.compile(r"[^A-Za-z0-9_-]")
#: 16 hex digits (64 bits) of SHA-256.
HASH_LENGTH = 16
#: An id that already ends like a hashed name is hashed too, so it cannot take another id's name.
_HASHED_ENDING = re.compile(r"-[0-9a-f]{%d}\Z" % HASH_LENGTH)

#: The tag an owner refreshes on its queue while it lives; the cleanup's sweep deletes queues whose tag is too old.
LAST_SEEN_TAG = "stop-task:last-seen"


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def signal_queue_name(name_prefix: str, owner_id: str) -> str:
    """The queue name of one owner: the id as is when SQS allows it and it fits, else readable part + hash."""
    room = MAX_QUEUE_NAME_LENGTH - _utf16_length(name_prefix)
    if room < HASH_LENGTH + 2:
        raise ValueError(f"queue name prefix {name_prefix} leaves no room for an id")
    if owner_id == "":
        raise ValueError("an owner id is needed to name its queue")
    # JavaScript's `$` matches only at the very end (never before a trailing newline): fullmatch and \Z.
    safe = _SAFE_ID.fullmatch(owner_id) is not None
    if safe and _utf16_length(owner_id) <= room and _HASHED_ENDING.search(owner_id) is None:
        return name_prefix + owner_id
    # Node hashes the UTF-8 of the string, a lone surrogate as U+FFFD.
    well_formed = owner_id.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    digest = hashlib.sha256(well_formed.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    # Replace per UTF-16 code unit, as the JavaScript regex without the u flag does.
    units = owner_id.encode("utf-16-le", "surrogatepass")
    readable_units = "".join(
        chr(c) if _UNSAFE_CHARACTER.match(chr(c)) is None else "_"
        for c in (int.from_bytes(units[i : i + 2], "little") for i in range(0, len(units), 2))
    )
    readable = readable_units[: room - HASH_LENGTH - 1]
    return f"{name_prefix}{readable}-{digest}"


def owner_queue_id(name_prefix: str, owner_id: str) -> str:
    return signal_queue_name(name_prefix, owner_id)[len(name_prefix) :]


def signal_queue_url(url_prefix: str, owner_id: str) -> str:
    """The queue URL of one owner, from the channel's URL prefix (the stop function derives the same)."""
    name_start = url_prefix.rfind("/") + 1
    return url_prefix[:name_start] + signal_queue_name(url_prefix[name_start:], owner_id)
