"""Canonical JSON is RFC 8785's: the RFC's own examples, and agreement with `rfc8785` on any JSON value.

The store writes the canonical text of every payload and marking and hashes it, so two readers of a stored
event can never disagree about what it says; `read_json` reads stored text back strictly and says whether
it is still canonical. Format 1 hashes (databases made before format 2) are still computed exactly as
the first store did.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from datetime import UTC, datetime
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kizuna.errors import InvalidQuery
from kizuna.store import HashFormat, canonical_json, event_hash
from kizuna.store.canonical import JsonFault, legacy_json, read_json

#: RFC 8785 section 3.2.2: the sample input and its canonical form.
RFC_INPUT = (
    '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
    ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
    ' "literals": [null, true, false]}'
)
RFC_OUTPUT = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)

#: RFC 8785 appendix B: IEEE 754 doubles (as hex) and how canonical JSON writes them.
RFC_NUMBERS = [
    ("0000000000000000", "0"),
    ("8000000000000000", "0"),
    ("0000000000000001", "5e-324"),
    ("8000000000000001", "-5e-324"),
    ("7fefffffffffffff", "1.7976931348623157e+308"),
    ("ffefffffffffffff", "-1.7976931348623157e+308"),
    ("4340000000000000", "9007199254740992"),
    ("c340000000000000", "-9007199254740992"),
    ("4430000000000000", "295147905179352830000"),
    ("44b52d02c7e14af5", "9.999999999999997e+22"),
    ("44b52d02c7e14af6", "1e+23"),
    ("44b52d02c7e14af7", "1.0000000000000001e+23"),
    ("444b1ae4d6e2ef4e", "999999999999999700000"),
    ("444b1ae4d6e2ef4f", "999999999999999900000"),
    ("444b1ae4d6e2ef50", "1e+21"),
    ("3eb0c6f7a0b5ed8c", "9.999999999999997e-7"),
    ("3eb0c6f7a0b5ed8d", "0.000001"),
    ("41b3de4355555553", "333333333.3333332"),
    ("41b3de4355555554", "333333333.33333325"),
    ("41b3de4355555555", "333333333.3333333"),
    ("41b3de4355555556", "333333333.3333334"),
    ("41b3de4355555557", "333333333.33333343"),
    ("becbf647612f3696", "-0.0000033333333333333333"),
    ("43143ff3c1cb0959", "1424953923781206.2"),
]


def test_the_rfc_sample_is_written_as_the_rfc_writes_it() -> None:
    assert canonical_json(json.loads(RFC_INPUT)) == RFC_OUTPUT


@pytest.mark.parametrize(("bits", "expected"), RFC_NUMBERS)
def test_numbers_are_written_as_ecmascript_writes_them(bits: str, expected: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json([number]) == f"[{expected}]"


def test_keys_sort_by_utf16_code_units_as_the_rfc_shows() -> None:
    """RFC 8785 section 3.2.3: an emoji (a surrogate pair in UTF-16) sorts before U+FB33."""
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(json.loads(canonical_json(value)).values())
    assert order == [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ]


_keys = st.text(max_size=6)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_is_what_rfc8785_writes(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(value).decode("utf-8")


@given(json_values)
def test_format_one_text_is_pythons_sorted_compact_json(value: Any) -> None:
    """The encoder built once (for speed) writes what `json.dumps` writes with the same settings."""
    assume(all(math.isfinite(x) for x in _floats(value)))
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert legacy_json(value) == expected
    assert legacy_json({"wrapped": value}) == json.dumps(
        {"wrapped": value}, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def _floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [x for item in value.values() for x in _floats(item)]
    if isinstance(value, list):
        return [x for item in value for x in _floats(item)]
    return []


#: Beside JSON values, what canonical JSON must refuse or treat with care: tuples, keys that are not
#: strings, integers beyond ±(2**53 - 1), astral and lone-surrogate characters, NaN and infinities.
_awkward_scalars = (
    _scalars
    | st.integers()
    | st.sampled_from(["\U0001f600", "a\ud800", "\ue000", math.nan, -math.inf, 1.0, -0.0])
)
_awkward_keys = (
    _keys | st.sampled_from(["\U0001f600", "\ue000x", "\udfff"]) | st.integers(-2, 2) | st.booleans()
)
awkward_values = st.recursive(
    _awkward_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(_awkward_keys, inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(_awkward_keys, awkward_values, max_size=5))
def test_any_payload_is_written_canonically_or_refused_with_a_reason(value: dict[Any, Any]) -> None:
    """Never another exception (a lone surrogate in a key beside a float once raised from rfc8785)."""
    try:
        text = canonical_json(value)
    except InvalidQuery:
        with pytest.raises(InvalidQuery, match="not canonical JSON"):
            canonical_json(value)
        return
    assert read_json(text).canonical


@given(json_values)
def test_canonical_text_reads_back_as_canonical(value: Any) -> None:
    text = canonical_json(value)
    read = read_json(text)
    assert read.canonical
    assert read.text == text
    assert canonical_json(read.value) == text


@settings(suppress_health_check=[HealthCheck.too_slow])  # nested values per draw: slow on a busy machine
@given(
    json_values.filter(lambda v: isinstance(v, dict)),
    st.none() | st.dictionaries(_keys, json_values, max_size=3),
    st.text(min_size=1, max_size=10),
    st.none() | st.text(max_size=10),
    st.datetimes(timezones=st.just(UTC)),
)
def test_a_format_two_hash_is_the_sha256_of_rfc8785_text_of_the_fields(
    payload: dict[str, Any], marking: dict[str, Any] | None, stream: str, actor: str | None, moment: datetime
) -> None:
    """The hash composes the stored texts by hand for speed; it must be exactly RFC 8785's text."""
    fields: dict[str, Any] = {
        "seq": 12,
        "stream": stream,
        "version": 3,
        "type": "sitrep-filed",
        "actor": actor,
        "idempotency_key": "key-1",
        "prev_hash": "0" * 64,
    }
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = fields | {
        "payload": payload,
        "marking": marking,
        "occurred_at": stamp,
        "recorded_at": stamp,
        "format": 2,
    }
    expected = hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    assert (
        event_hash(**fields, payload=payload, marking=marking, occurred_at=moment, recorded_at=moment)
        == expected
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": math.nan}, r"\$\.x: nan is not a JSON number"),
        ({"x": [0, -math.inf]}, r"\$\.x\[1\]: -inf is not a JSON number"),
        ({"n": -(2**53)}, "beyond ±"),
        ({("a", "b"): 1}, "is not a string"),
        ({"s": "\udfff"}, "lone surrogate"),
        ({"\udfff": 1, "x": 0.5}, "lone surrogate"),  # a key, beside a float (the rfc8785 path)
        ({"s": "a\ud800", "x": 0.5}, "lone surrogate"),  # a string, beside a float
        ({"when": datetime(2025, 1, 1, tzinfo=UTC)}, r"\$\.when: a datetime is not a JSON value"),
    ],
)
def test_values_without_a_canonical_form_are_refused_naming_where(value: Any, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        canonical_json(value)


@pytest.mark.parametrize(
    ("stored", "ambiguous", "message"),
    [
        ('{"action":"deny","action":"approve"}', True, "duplicate key 'action'"),
        ('{"a":{"b":1,"b":1}}', True, "duplicate key 'b'"),
        ('{"x":NaN}', False, "NaN is not JSON"),
        ('{"x":-Infinity}', False, "-Infinity is not JSON"),
        ('{"x":1e400}', False, "beyond what JSON numbers hold"),
        ("{'x': 1}", False, "not JSON"),
        ("", False, "not JSON"),
    ],
)
def test_stored_text_that_readers_could_misread_is_a_fault(
    stored: str, ambiguous: bool, message: str
) -> None:
    with pytest.raises(JsonFault, match=message) as raised:
        read_json(stored)
    assert raised.value.ambiguous is ambiguous


@pytest.mark.parametrize(
    "stored",
    [
        '{"a": 1}',
        '{"b":1,"a":2}',
        '{"a":1.0}',
        '{"a":"\\u00e9"}',
        '{"a":1E2}',
        ' {"a":1}',
        '{"a":"\\ud800"}',
        '{"x":9007199254740993}',  # a double holds 9007199254740992: the text says more than the value
    ],
)
def test_stored_text_that_is_not_canonical_is_told_apart(stored: str) -> None:
    read = read_json(stored)
    assert not read.canonical
    assert read.text != stored


def test_format_one_hashes_are_those_the_first_store_computed() -> None:
    """The old formula, written out: SHA-256 of Python's sorted, compact JSON of the fields."""
    fields: dict[str, Any] = {
        "seq": 7,
        "stream": "request:r-1",
        "version": 2,
        "type": "step.acted",
        "payload": {"b": [1.5, 2], "a": "日本", "z": None},
        "actor": "tanaka",
        "marking": {"level": "secret", "rel_to": ["JPN", "USA"]},
        "idempotency_key": None,
        "prev_hash": "ab" * 32,
    }
    occurred, recorded = (
        datetime(2027, 4, 6, 5, 0, 1, tzinfo=UTC),
        datetime(2027, 4, 6, 5, 0, 2, 5, tzinfo=UTC),
    )
    old_body = fields | {
        "occurred_at": "2027-04-06T05:00:01.000000Z",
        "recorded_at": "2027-04-06T05:00:02.000005Z",
    }
    old = hashlib.sha256(
        json.dumps(old_body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    computed = event_hash(**fields, occurred_at=occurred, recorded_at=recorded, hash_format=HashFormat.LEGACY)
    assert computed == old
    assert event_hash(**fields, occurred_at=occurred, recorded_at=recorded) != old, "format 2 differs"
