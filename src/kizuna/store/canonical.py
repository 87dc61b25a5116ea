"""Canonical JSON: the one text of a value that the store keeps and hashes (RFC 8785, JCS).

`canonical_json(value)` gives the JSON Canonicalization Scheme text of a value (sorted keys, no
insignificant white space, numbers as ECMAScript prints them, UTF-8); it refuses what has no canonical
form: NaN and infinities, integers beyond ±(2**53 - 1) (JSON numbers are IEEE doubles), keys that are not
strings, text that is not Unicode, and anything that is not JSON. `read_json(text)` parses stored text
strictly (duplicate keys, `NaN` and infinities are faults; numbers beyond ±(2**53 - 1) are read as the
doubles they are) and tells whether the text is the
canonical form of its value, so a stored payload that readers could understand differently (two
`"action"` keys, of which SQLite's JSON functions read the first and Python the last) is found.

For the common case (no floats, keys within the Basic Multilingual Plane) the canonical text is exactly
what `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)` writes, and that C encoder is
used; values with floats or astral-plane keys go through the `rfc8785` package, whose number formatting
and UTF-16 key order are the RFC's. A test checks both paths against `rfc8785` and the RFC's examples.

Format 1 (`legacy_json`) is the store's first canonical form (Python's sorted, compact `json.dumps`); events
hashed in it keep their hashes, and `read_json(text, legacy=True)` checks their text against it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785

from kizuna.errors import InvalidQuery

#: The largest integer magnitude JSON numbers (IEEE doubles) hold exactly; RFC 8785 allows no more.
MAX_SAFE_INTEGER = 2**53 - 1


def _refuse(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder `json.dumps` builds on every call, built once: for the small values of every append
# (a marking, a step's record) building it cost more than encoding. Same arguments, same text
# (`test_canonical.py` compares). `c_make_encoder` is the json module's accelerator (None without it).
_MAKE_ENCODER: Callable[..., Callable[[Any, int], Iterable[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
_C_ENCODE = (
    _MAKE_ENCODER(None, _refuse, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    if _MAKE_ENCODER is not None
    else None
)


def _dumps(value: Any) -> str:
    if _C_ENCODE is not None and type(value) is dict:
        return "".join(_C_ENCODE(value, 0))
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """Return the RFC 8785 canonical JSON text of `value`.

    Raises:
        InvalidQuery: The value has no canonical JSON form; the message names where (`$.a[2]`) and why.
    """
    try:
        simple = _plain(value)
    except _Unusual:
        simple = _check(value, "$")  # the careful walk: it names the fault, or allows an unusual type
    try:
        text = _dumps(value) if simple else rfc8785.dumps(value).decode("utf-8")
        text.encode("utf-8")
    except (UnicodeEncodeError, rfc8785.CanonicalizationError) as error:
        # A lone surrogate: `_dumps` writes it (the encode finds it), rfc8785 raises on it (in a key it
        # orders, or a string it writes); `_check` has refused every other fault rfc8785 knows.
        cause = error if isinstance(error, UnicodeEncodeError) else error.__cause__
        if not isinstance(cause, UnicodeEncodeError):
            raise
        raise InvalidQuery(f"not canonical JSON: a string holds a lone surrogate ({cause.reason})") from None
    return text


def legacy_json(value: Any) -> str:
    """Return `value` in hash format 1: Python's sorted, compact JSON (kept for events hashed in it)."""
    try:
        return _dumps(value)
    except (TypeError, ValueError) as error:
        raise InvalidQuery(f"not JSON-compatible: {error}") from error


class _Unusual(Exception):
    """A value `_plain` leaves to `_check` (a fault to name, or a type it does not take on itself)."""


def _plain(value: Any) -> bool:
    """Check the common shapes fast (exact dict, list, str, int, bool, None); True if the C encoder fits.

    Every append's payload is checked, and `_check` builds the path of each value as it goes, which
    costs more than encoding; this walk builds none and raises `_Unusual` for anything else.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return True
        raise _Unusual
    if kind is float:
        if math.isfinite(value):
            return False
        raise _Unusual
    simple = True
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise _Unusual
            if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                simple = False
            if type(item) is not str and not _plain(item):
                simple = False
        return simple
    if kind is list or kind is tuple:
        for item in value:
            if type(item) is not str and not _plain(item):
                simple = False
        return simple
    raise _Unusual


def _check(value: Any, path: str) -> bool:
    """Check that `value` has a canonical form; return True if the C encoder writes it exactly."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise InvalidQuery(
                f"not canonical JSON at {path}: the integer {value} is beyond ±(2**53 - 1), "
                "which JSON numbers cannot hold exactly"
            )
        return True
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidQuery(f"not canonical JSON at {path}: {value} is not a JSON number")
        return False
    if isinstance(value, Mapping):
        simple = True
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidQuery(f"not canonical JSON at {path}: the key {key!r} is not a string")
            if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                simple = False  # JCS orders keys by UTF-16 code units, Python by code points
            simple = _check(item, f"{path}.{key}") and simple
        return simple
    if isinstance(value, list | tuple):
        simple = True
        for index, item in enumerate(value):
            simple = _check(item, f"{path}[{index}]") and simple
        return simple
    raise InvalidQuery(f"not canonical JSON at {path}: a {type(value).__name__} is not a JSON value")


class JsonFault(ValueError):
    """Stored JSON text that cannot be read as one unambiguous value.

    Attributes:
        ambiguous: True when readers could disagree on the value (a duplicate key); False when the text
            is not JSON at all (or holds NaN, an infinity or a number no double holds).
    """

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


@dataclass(frozen=True, slots=True)
class ReadJson:
    """Stored JSON text, parsed.

    Attributes:
        value: What the text says.
        text: The canonical text of that value (None if it has none, e.g. a lone surrogate).
        canonical: Whether the stored text is exactly `text`.
    """

    value: Any
    text: str | None
    canonical: bool


#: Characters beyond the Basic Multilingual Plane: where code-point and UTF-16 key orders can differ.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


class _Reader:
    """Hooks for `json.loads` that refuse what canonical JSON cannot hold and note what needs rfc8785.

    Floats and large integers are rare in payloads, so their hooks cost little; objects are not hooked
    on the way in (a duplicate key shows as a text that differs from the canonical one, and only then is
    the text read again, with `_no_duplicates`, to name the key).
    """

    __slots__ = ("simple",)

    def __init__(self) -> None:
        self.simple = True

    def number(self, text: str) -> float:
        self.simple = False
        value = float(text)
        if not math.isfinite(value):
            raise JsonFault(f"the number {text} is beyond what JSON numbers hold")
        return value

    def integer(self, text: str) -> int | float:
        value = int(text)
        if abs(value) <= MAX_SAFE_INTEGER:
            return value
        # Beyond what a double holds exactly: a JSON number is a double (RFC 8785, I-JSON), so it is
        # read as one, and its canonical text is the double's (the text of a large float, or a fault).
        self.simple = False
        as_double = float(value)
        if not math.isfinite(as_double):
            raise JsonFault(f"the number {text} is beyond what JSON numbers hold")
        return as_double

    @staticmethod
    def constant(name: str) -> Any:
        raise JsonFault(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonFault(f"duplicate key {key!r} (readers disagree on its value)", ambiguous=True)
            seen.add(key)
    return result


def read_json(text: str, *, legacy: bool = False) -> ReadJson:
    """Parse stored JSON text strictly and tell whether it is its value's canonical form.

    Args:
        text: The text as stored.
        legacy: Compare with hash format 1 (`legacy_json`) instead of RFC 8785.

    Raises:
        JsonFault: The text is not JSON, holds NaN or an infinity (or a number too large for a double),
            or repeats a key (`ambiguous`).
    """
    reader = _Reader()
    try:
        value = json.loads(
            text, parse_float=reader.number, parse_int=reader.integer, parse_constant=reader.constant
        )
    except JsonFault:
        raise
    except ValueError as error:  # json.JSONDecodeError, or int() of a huge literal
        raise JsonFault(f"not JSON ({error})") from None
    except RecursionError:
        raise JsonFault("not JSON (nested too deeply)") from None
    expected: str | None
    if legacy or (reader.simple and (text.isascii() or not _ASTRAL.search(text))):
        expected = _dumps(value)
    else:
        try:
            expected = rfc8785.dumps(value).decode("utf-8")
        except (rfc8785.CanonicalizationError, UnicodeError):
            expected = None
    if expected != text:
        json.loads(text, object_pairs_hook=_no_duplicates)  # name a duplicate key, if that is why
    return ReadJson(value=value, text=expected, canonical=expected == text)
