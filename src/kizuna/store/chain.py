"""The hash chain: the canonical JSON of an event's fields and the SHA-256 that links it to the one before.

An event's hash covers every recorded field and the previous event's hash, so changing, removing or
reordering any event changes every hash after it. Each event records the format its hash was made in:

- format 2 (`HashFormat.JCS`, every event appended now): SHA-256 of the RFC 8785 canonical JSON of the
  fields, the format number and `prev_hash`; the payload and marking are stored as exactly their canonical
  text, so the stored text is what was hashed.
- format 1 (`HashFormat.LEGACY`, events of databases made before it): SHA-256 of Python's sorted, compact
  JSON of the fields and `prev_hash`. Such events keep their hashes, so a head hash recorded before the
  upgrade still names the same chain; `verify` checks their stored text against that form.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import IntEnum
from json.encoder import encode_basestring
from typing import Any

from kizuna.errors import InvalidQuery
from kizuna.store.canonical import canonical_json, legacy_json

#: The `prev_hash` of the first event.
GENESIS_HASH = "0" * 64


class HashFormat(IntEnum):
    """How an event's hash was computed (recorded with the event, in `hash_format`)."""

    LEGACY = 1  # Python's sorted, compact json.dumps of the fields (the store's first form)
    JCS = 2  # RFC 8785 canonical JSON of the fields and the format number


#: The format every new event is hashed in.
CURRENT_FORMAT = HashFormat.JCS


def normalize_json(value: Any) -> Any:
    """Return `value` as it reads back from the database (a JSON round trip of its canonical text)."""
    return json.loads(canonical_json(value))


def utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive datetime (as SQLite returns them) is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """Format a moment as the hash sees it: UTC with microseconds, `2025-01-02T03:04:05.000006Z`."""
    moment = utc(moment)
    if moment.year < 1000:  # strftime's %Y, which the first hashes used, does not pad the year
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"  # the same text, twice as fast


def _string(value: str | None) -> str:
    """Return a string's JSON text as canonical JSON writes it (only `"`, `\\` and controls escaped)."""
    return "null" if value is None else encode_basestring(value)


def hash_of_texts(
    *,
    seq: int,
    stream: str,
    version: int,
    type: str,  # noqa: A002 - the event field is called type
    payload_text: str,
    actor: str | None,
    marking_text: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
    idempotency_key: str | None,
    prev_hash: str,
    hash_format: HashFormat = CURRENT_FORMAT,
) -> str:
    """Compute an event's chain hash from its payload's and marking's canonical texts (as stored).

    The texts must already be canonical in `hash_format` (`canonical_json`, or `legacy_json` for
    format 1): the object is composed from them rather than written again.

    Raises:
        InvalidQuery: A name holds text that is not Unicode (a lone surrogate).
    """
    # Canonical JSON is compositional: an object's text is its members' texts in key order (ASCII keys,
    # whose code-point and UTF-16 orders agree). Written out: every append and every verified event
    # passes here; a test checks it against rfc8785 of the whole object.
    marking = "null" if marking_text is None else marking_text
    format_member = "" if hash_format is HashFormat.LEGACY else f',"format":{int(hash_format)}'
    text = (
        f'{{"actor":{_string(actor)}{format_member},"idempotency_key":{_string(idempotency_key)},'
        f'"marking":{marking},"occurred_at":"{timestamp(occurred_at)}","payload":{payload_text},'
        f'"prev_hash":{_string(prev_hash)},"recorded_at":"{timestamp(recorded_at)}","seq":{seq},'
        f'"stream":{_string(stream)},"type":{_string(type)},"version":{version}}}'
    )
    try:
        body = text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise InvalidQuery(f"an event field holds text that is not Unicode ({error.reason})") from None
    return hashlib.sha256(body).hexdigest()


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
    hash_format: HashFormat = CURRENT_FORMAT,
) -> str:
    """Compute an event's chain hash (SHA-256, hex) from its fields' values, in `hash_format`.

    Raises:
        InvalidQuery: The payload or marking has no canonical JSON form (NaN, a huge integer, ...).
    """
    dump = legacy_json if hash_format is HashFormat.LEGACY else canonical_json
    return hash_of_texts(
        seq=seq,
        stream=stream,
        version=version,
        type=type,
        payload_text=dump(payload),
        actor=actor,
        marking_text=None if marking is None else dump(marking),
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        idempotency_key=idempotency_key,
        prev_hash=prev_hash,
        hash_format=hash_format,
    )
