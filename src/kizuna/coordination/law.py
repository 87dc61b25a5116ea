"""The law as the live system consults it: structures, frameworks, compiled paths and rulings.

`Law` wraps the bundled (or given) frameworks and structures behind the three questions the coordinator
asks: which structure a crisis runs in, which decision path a request takes, and what the authority
engine rules on an act under the designation in force with the approvals held so far.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING

from kizuna.coordination.events import Verdict
from kizuna.errors import UnknownId
from kizuna.model import RequestSpec, Structure, load_structure
from kizuna.planning import DecisionPath

if TYPE_CHECKING:
    from kizuna.authority import FrameworkSet


class Law:
    """Structures and frameworks, loaded once, and the questions the coordinator asks of them."""

    def __init__(
        self,
        frameworks: FrameworkSet | None = None,
        structures: Mapping[str, Structure] | None = None,
    ) -> None:
        """Use the given frameworks and structures; by default the bundled ones, loaded on first use."""
        self._frameworks = frameworks
        self._structures: dict[str, Structure] = dict(structures or {})

    @cached_property
    def frameworks(self) -> FrameworkSet:
        """The frameworks rulings are made under."""
        if self._frameworks is not None:
            return self._frameworks
        from kizuna.authority import load_frameworks

        return load_frameworks()

    def structure(self, structure_id: str) -> Structure:
        """Return a structure by id (bundled, or one given to the constructor)."""
        if structure_id not in self._structures:
            self._structures[structure_id] = load_structure(structure_id)
        return self._structures[structure_id]

    def check_situation(self, situation: str) -> None:
        """Raise UnknownId unless the frameworks know the situation."""
        known = self.frameworks.situations
        if situation not in known:
            raise UnknownId("situation", situation, known)

    def compile(self, structure: Structure, spec: RequestSpec) -> DecisionPath:
        """Compile a request to its decision path in a structure."""
        from kizuna.planning import compile_request

        return compile_request(structure, self.frameworks, spec)

    def judge(self, spec: RequestSpec, situation: str, granted: tuple[str, ...]) -> Verdict | None:
        """Rule on the request's act under `situation` with `granted` held; None for a designation."""
        if spec.designates is not None or spec.actor is None or spec.activity is None:
            return None
        from kizuna.authority import Query, rule

        ruling = rule(
            self.frameworks,
            Query(
                situation=situation,
                actor=spec.actor,
                activity=spec.activity,
                supported=spec.supported,
                location=spec.location,
                flags=frozenset(spec.flags),
                granted=frozenset(granted),
            ),
        )
        return Verdict(
            situation=situation,
            outcome=ruling.outcome.value,
            missing=ruling.missing,
            after=ruling.after,
            rule_ids=ruling.rule_ids,
            reasons=ruling.reasons,
            citations=tuple(str(c) for c in ruling.citations),
        )
