"""A FrameworkSet: several frameworks read together, checked for conflicts, and compiled for queries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from kizuna.authority.query import Query
from kizuna.authority.ruling import Ruling
from kizuna.errors import DataError, UnknownId
from kizuna.model.framework import FIELD_OF, Approval, Framework, Rule, Term, load_framework

if TYPE_CHECKING:
    from kizuna.authority.engine import CompiledEngine

#: The frameworks `load_frameworks()` reads when given none.
DEFAULT_FRAMEWORKS = ("japan-2015", "us-japan-treaty-1960")
#: Query field -> vocabulary section.
SECTION_OF = {field: section for section, field in FIELD_OF.items()}
#: Query field -> the noun an unknown-id error uses.
_KIND = {
    "situation": "situation",
    "actor": "actor",
    "activity": "activity",
    "supported": "supported party",
    "location": "location",
    "flags": "flag",
}


class FrameworkSet:
    """Frameworks read together: merged vocabularies and approvals, all rules in order, one engine.

    A term or approval defined by more than one framework keeps its first definition. Construction checks
    the merged rules for conflicts and for situation/actor/activity triples no fallback covers, and
    raises DataError (with file and line) when it finds any.
    """

    def __init__(self, frameworks: Sequence[Framework]) -> None:
        from kizuna.authority.rules import find_conflicts, find_gaps

        if not frameworks:
            raise ValueError("a FrameworkSet needs at least one framework")
        self.frameworks: tuple[Framework, ...] = tuple(frameworks)
        self.situations: dict[str, Term] = self._merge("situations")
        self.actors: dict[str, Term] = self._merge("actors")
        self.activities: dict[str, Term] = self._merge("activities")
        self.locations: dict[str, Term] = self._merge("locations")
        self.flags: dict[str, Term] = self._merge("flags")
        self.supported: dict[str, Term] = self._merge("supported")
        self.approvals: dict[str, Approval] = {}
        for fw in self.frameworks:
            for approval in fw.approvals:
                self.approvals.setdefault(approval.id, approval)
        self.rules: tuple[Rule, ...] = tuple(r for fw in self.frameworks for r in fw.rules)
        self.approval_order: dict[str, int] = {a: i for i, a in enumerate(self.approvals)}
        self.situation_order: dict[str, int] = {s: i for i, s in enumerate(self.situations)}
        self._lineage: dict[str, tuple[str, ...]] = {a: self._ancestors(a) for a in self.actors}
        self._vocab: dict[str, list[str]] = {
            field: list(getattr(self, SECTION_OF[field])) for field in SECTION_OF
        }
        problems = find_conflicts(self) + find_gaps(self)
        if problems:
            raise DataError(problems)

    def _merge(self, section: str) -> dict[str, Term]:
        out: dict[str, Term] = {}
        for fw in self.frameworks:
            for term in fw.vocabulary(section):
                out.setdefault(term.id, term)
        return out

    def _ancestors(self, actor: str) -> tuple[str, ...]:
        chain = [actor]
        while (parent := self.actors[chain[-1]].part_of) is not None and parent not in chain:
            chain.append(parent)
        return tuple(chain)

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids of the frameworks, in the order they were read."""
        return tuple(fw.id for fw in self.frameworks)

    def lineage(self, actor: str) -> tuple[str, ...]:
        """Return the actor and the actors it is part of (msdf -> msdf, jsdf)."""
        return self._lineage[actor]

    def vocabulary(self, field: str) -> list[str]:
        """Return the ids a query field may take (field: situation, actor, ..., flags), in data order."""
        return self._vocab[field]

    def validate(self, query: Query) -> None:
        """Check every id of `query` against the vocabularies (a fact left out, None, is not checked).

        Raises:
            UnknownId: an id is not defined; the error names the field, the id and the known ids.
        """
        for situation in query.ordered:
            if situation not in self.situations:
                raise UnknownId("situation", situation, self._vocab["situation"])
        for field in ("actor", "activity", "supported", "location"):
            value = getattr(query, field)
            if value is not None and value not in self._vocab[field]:
                raise UnknownId(_KIND[field], value, self._vocab[field])
        for flag in sorted(query.flags):
            if flag not in self.flags:
                raise UnknownId("flag", flag, self.flags)
        for approval in sorted(query.granted):
            if approval not in self.approvals:
                raise UnknownId("approval", approval, self.approvals)

    def in_force(self, designations: Sequence[str]) -> tuple[str, ...]:
        """Return the designations in force after making `designations` in turn (the oldest first).

        Each designation ends those its situation `replaces` (an armed attack situation ends the
        anticipated one; peacetime ends every other) and stays in force beside the rest, in the order
        they were made.

        Raises:
            UnknownId: a designation is not a situation of the frameworks.
        """
        out: list[str] = []
        for situation in designations:
            term = self.situations.get(situation)
            if term is None:
                raise UnknownId("situation", situation, self.situations)
            out = [s for s in out if s not in term.replaces and s != situation]
            out.append(situation)
        return tuple(out)

    @cached_property
    def engine(self) -> CompiledEngine:
        """The compiled evaluator (built on first use)."""
        from kizuna.authority.engine import CompiledEngine

        return CompiledEngine(self)

    def rule(self, query: Query) -> Ruling:
        """Rule on a query with the compiled engine."""
        return _others_lawful(query, self.engine.rule(query))

    def reference(self, query: Query) -> Ruling:
        """Rule on a query with the uncompiled reference evaluator (slow; for tests and benchmarks)."""
        from kizuna.authority.rules import evaluate

        return _others_lawful(query, evaluate(self, query))

    def __repr__(self) -> str:
        return f"FrameworkSet({', '.join(self.ids)}: {len(self.rules)} rules)"


def _others_lawful(query: Query, ruling: Ruling) -> Ruling:
    """Leave the designations in force out of a prohibition's `lawful_under`.

    A rule that prohibits under a condition (mine removal while combat goes on) names the designations
    the act is lawful under otherwise, which may be the one in force; the union of several leaves those
    out, and so must the ruling under one.
    """
    if not ruling.lawful_under or query.situations.isdisjoint(ruling.lawful_under):
        return ruling
    return replace(ruling, lawful_under=tuple(s for s in ruling.lawful_under if s not in query.situations))


def load_frameworks(*refs: str | Path) -> FrameworkSet:
    """Load frameworks by bundled id or file path (default: japan-2015 and us-japan-treaty-1960).

    Raises:
        DataError: a file is invalid, or rules conflict; each problem names file and line.
        UnknownId: a reference is neither a file nor a bundled framework id.
    """
    names = tuple(str(r) for r in refs) or DEFAULT_FRAMEWORKS
    if all(not (n.endswith((".yaml", ".yml")) or "/" in n) for n in names):
        return _bundled(names)
    return FrameworkSet([load_framework(r) for r in names])


@lru_cache(maxsize=8)
def _bundled(names: tuple[str, ...]) -> FrameworkSet:
    return FrameworkSet([load_framework(n) for n in names])


def rule(frameworks: FrameworkSet, query: Query) -> Ruling:
    """Rule on `query` under `frameworks`: outcome, required and missing approvals, reasons, citations.

    Raises:
        UnknownId: an id of the query is not defined in the frameworks.
    """
    return frameworks.rule(query)
