"""Separation of duties: who may not act on a request because they filed it.

A person who files a request does not also decide it: by default the filer may not act on the
request's approval steps (approve or deny). Which kinds of step are closed to the filer is a setting
(`KIZUNA_FILER_EXCLUDED_STEPS`), checked by the request state machine with every action.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kinds of step the filer may not act on unless configured otherwise.
DEFAULT_FILER_EXCLUDED = frozenset({"approve"})


@dataclass(frozen=True, slots=True)
class Separation:
    """The kinds of step (`approve`, `consult`, ...) the user who filed a request may not act on."""

    filer_excluded: frozenset[str] = DEFAULT_FILER_EXCLUDED

    def forbids(self, *, filer: str, actor: str, step_kind: str) -> bool:
        """Tell whether `actor` may not act on a step of this kind of a request `filer` filed."""
        return actor == filer and step_kind in self.filer_excluded
