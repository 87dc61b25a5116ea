"""Kizuna's exceptions, one tree under `KizunaError`.

Each error also subclasses the matching built-in, so callers may catch either::

    KizunaError
    ├── DataError (ValueError)            a data file is invalid; carries every Problem found
    ├── UnknownId (KeyError)              an id is not defined; names the id and the known ones
    ├── InvalidQuery (ValueError)         a query or request is malformed
    ├── Infeasible (ValueError)           no assignment satisfies a plan; carries the explanation
    ├── ConflictError (RuntimeError)      a concurrent action lost; carries the current state
    ├── PermissionDenied (PermissionError) the user may not see or do this
    ├── NotFound (LookupError)            an object does not exist (or is not visible)
    └── IntegrityError (RuntimeError)     the event chain does not verify
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{where}: {self.field}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r})"
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


class UnknownId(KizunaError, KeyError):
    """An identifier is not defined; the message names it and the known ones."""

    def __init__(self, kind: str, value: str, known: Iterable[str]) -> None:
        self.kind = kind
        self.value = value
        self.known = tuple(sorted(known))
        super().__init__(f"unknown {kind} {value!r}; known: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidQuery(KizunaError, ValueError):
    """A query or request is malformed (unknown field, wrong type)."""


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


class IntegrityError(KizunaError, RuntimeError):
    """The event chain does not verify: an event was altered, removed or reordered."""
