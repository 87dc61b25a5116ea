"""Strict parameter types: what a path, query or header value must look like before anything reads it.

Pydantic's lax mode reads `+12`, ` 12` and `1_000` as numbers; a sequence number in a query is only
ASCII digits here, and an id in a path only the characters ids are made of. A value that does not fit
answers 422 (a query or path value) or 400 (a header) with the documented error body, never 500.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator

_DIGITS = re.compile(r"[0-9]{1,16}")
_DECIMAL = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9})?")


def _digits(value: object) -> object:
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("expected a whole number in ASCII digits")
    return value


def _decimal(value: object) -> object:
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise ValueError("expected a number in ASCII digits, with an optional decimal point")
    return value


#: A whole number written in ASCII digits only (no sign, spaces, underscores or other scripts' digits).
StrictInt = Annotated[int, BeforeValidator(_digits)]
#: A non-negative decimal number written in ASCII digits and at most one point.
StrictFloat = Annotated[float, BeforeValidator(_decimal)]

#: The characters an object id may have in a path (ids are kebab-case, or `r-` and hex).
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
#: An id in a path: a crisis, request, step, tasking or report.
PathId = Annotated[str, Path(pattern=ID_PATTERN)]
#: A sequence number in a header (Last-Event-ID): ASCII digits only.
SEQ_HEADER_PATTERN = r"^[0-9]{1,16}$"
