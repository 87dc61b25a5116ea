"""Kizuna's exceptions, one tree under `KizunaError`.

Each error also subclasses the matching built-in, so callers may catch either::

    KizunaError
    ├── DataError (ValueError)            a data file is invalid; carries every Problem found
    ├── UnknownId (KeyError)              an id is not defined; names the id and the known ones
    ├── InvalidQuery (ValueError)         a query or request is malformed
    │   └── MissingFact                   a query leaves out a fact its ruling depends on
    ├── Infeasible (ValueError)           no assignment satisfies a plan; carries the explanation
    ├── ConflictError (RuntimeError)      a concurrent action lost; carries the current state
    ├── PermissionDenied (PermissionError) the user may not see or do this
    ├── NotFound (LookupError)            an object does not exist (or is not visible)
    ├── Throttled (PermissionError)       too many attempts; carries when to try again
    └── IntegrityError (RuntimeError)     the event chain does not verify
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class KizunaError(Exception):
    """The root of every error Kizuna raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a data file: where, which field, the bad value and what was expected."""

    file: str
    line: int | None
    field: str
    message: str
    value: object = None
    expected: str | None = None
    #: The nearest valid values, as "did you mean 'x'?" (see `suggestion`), or None.
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.field}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r}" + (f"; {self.hint}" if self.hint else "") + ")"
        elif self.hint:
            text += f" ({self.hint})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class DataError(KizunaError, ValueError):
    """A data file (structure, framework, scenario) is invalid; `problems` lists every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[type[DataError], tuple[tuple[Problem, ...]]]:
        """Pickle with the problems (errors cross process boundaries in simulations and sweeps)."""
        return (type(self), (self.problems,))

    @classmethod
    def single(
        cls,
        file: str | Path,
        field: str,
        message: str,
        *,
        line: int | None = None,
        value: object = None,
        expected: str | None = None,
    ) -> DataError:
        """Build an error holding one problem."""
        return cls([Problem(str(file), line, field, message, value, expected)])


def did_you_mean(value: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Return the known names nearest to `value` (a typo, another case), best first; empty when none is close.

    Compared without case and with `_` read as `-`, so `Gray_Zone` suggests `gray-zone`; a known name that
    starts with the value (an abbreviation) counts as close.
    """
    import difflib

    def norm(text: str) -> str:
        return text.casefold().replace("_", "-")

    by_norm: dict[str, str] = {}
    for name in known:
        by_norm.setdefault(norm(name), name)
    wanted = norm(value)
    if not wanted:
        return []
    if wanted in by_norm:
        return [by_norm[wanted]]
    scored = sorted(
        ((difflib.SequenceMatcher(None, wanted, n).ratio(), n) for n in by_norm), key=lambda x: (-x[0], x[1])
    )
    best = scored[0][0] if scored else 0.0
    close = [n for score, n in scored if score >= 0.6 and score >= best - 0.05][:limit]
    prefixed = [n for n in by_norm if n.startswith(wanted) and n not in close] if len(wanted) >= 3 else []
    return [by_norm[n] for n in [*close, *prefixed][:limit]]


def suggestion(value: str, known: Iterable[str]) -> str:
    """Return "did you mean 'x'? " (or 'x' or 'y'), or "" when nothing known is close."""
    near = did_you_mean(value, known)
    if not near:
        return ""
    return "did you mean " + " or ".join(repr(n) for n in near) + "? "


def hint(value: str, known: Iterable[str]) -> str | None:
    """Return "did you mean 'x'?" for a Problem's `hint`, or None when nothing known is close."""
    return suggestion(value, known).strip() or None


class UnknownId(KizunaError, KeyError):
    """An identifier is not defined; the message names it, the nearest known ones, and all known ones."""

    def __init__(self, kind: str, value: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.value = value
        self.known = tuple(sorted(known))
        self.suggestions = tuple(did_you_mean(value, self.known))
        hint = suggestion(value, self.known)
        super().__init__(f"unknown {kind} {value!r}; {hint}known: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidQuery(KizunaError, ValueError):
    """A query or request is malformed (unknown field, wrong type)."""


class MissingFact(InvalidQuery):
    """A query leaves out a fact its ruling depends on; the message asks for it.

    Attributes:
        fields: the query fields to give (e.g. `supported`), in query order.
        options: for each field, the values it may take.
        detail: how the ruling differs between values, in words (may be empty).
    """

    def __init__(
        self, fields: Sequence[str], options: Mapping[str, Sequence[str]] | None = None, detail: str = ""
    ) -> None:
        self.fields = tuple(fields)
        self.options = {k: tuple(v) for k, v in (options or {}).items()}
        self.detail = detail
        asks = "; ".join(
            f"give {f!r}" + (f" (one of {', '.join(self.options[f])})" if self.options.get(f) else "")
            for f in self.fields
        )
        text = f"the ruling depends on {', '.join(self.fields)}, which the query leaves out: {asks}"
        super().__init__(text + (f"; {detail}" if detail else ""))

    def __reduce__(self) -> tuple[type[MissingFact], tuple[object, ...]]:
        """Pickle with the fields (errors cross process boundaries in simulations and sweeps)."""
        return (type(self), (self.fields, self.options, self.detail))


class Infeasible(KizunaError, ValueError):
    """No assignment of units to missions satisfies a plan; `explanation` says why and what would change it.

    The explanation is a `kizuna.planning.assign.Infeasibility`: the missions short of eligible units with
    the law or capability that blocks each, the missions that cannot all be covered together, and the
    smallest change that makes the plan feasible.
    """

    def __init__(self, message: str, explanation: object = None) -> None:
        self.explanation = explanation
        super().__init__(message)


class ConflictError(KizunaError, RuntimeError):
    """A concurrent action lost the race; `current` describes the state that won."""

    def __init__(self, message: str, current: object = None) -> None:
        self.current = current
        super().__init__(message)


class PermissionDenied(KizunaError, PermissionError):
    """The user may not see or do this."""


class NotFound(KizunaError, LookupError):
    """The object does not exist, or is not visible to the user."""


class Throttled(KizunaError, PermissionError):
    """Too many attempts (failed logins, or logins at once); try again after `retry_after_s` seconds."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class IntegrityError(KizunaError, RuntimeError):
    """The event chain does not verify: an event was altered, removed or reordered."""
