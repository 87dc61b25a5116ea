"""The hash chain: canonical JSON of an event's fields and the SHA-256 that links it to the one before.

An event's hash covers every recorded field and the previous event's hash, so changing, removing or
reordering any event changes every hash after it. `canonical_json` is the one serialization that is
hashed: keys sorted, no insignificant white space, UTF-8, no NaN or infinities.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from kizuna.errors import InvalidQuery

#: The `prev_hash` of the first event.
GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Serialize `value` canonically: sorted keys, compact separators, UTF-8 text, finite numbers only.

    Raises:
        InvalidQuery: The value is not JSON-compatible (a set, a datetime, NaN, ...).
    """
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidQuery(f"not JSON-compatible: {error}") from error


def normalize_json(value: Any) -> Any:
    """Return `value` as it reads back from the database (a JSON round trip), so the hash is reproducible."""
    return json.loads(canonical_json(value))


def utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime (as SQLite returns them) is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """Format a moment as the hash sees it: UTC with microseconds, `2025-01-02T03:04:05.000006Z`."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    seq: int,
    stream: str,
    version: int,
    type: str,  # noqa: A002 - the event field is called type
    payload: Any,
    actor: str | None,
    marking: Any,
    occurred_at: datetime,
    recorded_at: datetime,
    idempotency_key: str | None,
    prev_hash: str,
) -> str:
    """Compute an event's chain hash: SHA-256 (hex) of the canonical JSON of its fields and `prev_hash`."""
    body = {
        "seq": seq,
        "stream": stream,
        "version": version,
        "type": type,
        "payload": payload,
        "actor": actor,
        "marking": marking,
        "occurred_at": timestamp(occurred_at),
        "recorded_at": timestamp(recorded_at),
        "idempotency_key": idempotency_key,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
