"""The law as the live system consults it: structures, frameworks, compiled paths and rulings.

`Law` wraps the bundled (or given) frameworks and structures behind the questions the coordinator asks:
which structure a crisis runs in, which designations are in force in a crisis (several at once: a
survival-threatening and an armed attack situation together), which decision path a request takes, and
what the authority engine rules on an act under the union of the designations in force with the
approvals held so far.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from kizuna.authority import FrameworkSet, Query, load_frameworks, rule
from kizuna.coordination.crisis import CrisisState
from kizuna.coordination.events import Verdict
from kizuna.errors import UnknownId
from kizuna.model import RequestSpec, Structure, load_structure
from kizuna.planning import DecisionPath, compile_request

_K = TypeVar("_K")
_V = TypeVar("_V")

#: How many compiled paths `Law.compile` keeps (the oldest go first).
PATH_CACHE = 512
#: How many rulings `Law.judge` keeps (the oldest go first).
VERDICT_CACHE = 4096


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
        self._paths: dict[tuple[str, str], DecisionPath] = {}
        self._verdicts: dict[tuple[object, ...], Verdict] = {}
        self._lock = threading.Lock()
        self._loading = threading.Lock()

    @property
    def frameworks(self) -> FrameworkSet:
        """The frameworks rulings are made under (loaded once, by the first thread that asks)."""
        if self._frameworks is None:
            with self._loading:
                if self._frameworks is None:
                    self._frameworks = load_frameworks()
        return self._frameworks

    def structure(self, structure_id: str) -> Structure:
        """Return a structure by id (bundled, or one given to the constructor), loaded once."""
        found = self._structures.get(structure_id)
        if found is None:
            with self._loading:
                if structure_id not in self._structures:
                    self._structures[structure_id] = load_structure(structure_id)
                found = self._structures[structure_id]
        return found

    def warm(self, structure_ids: Iterable[str] = ()) -> None:
        """Load the frameworks and these structures now, rather than in the first commands that need them."""
        _ = self.frameworks
        for structure_id in structure_ids:
            self.structure(structure_id)

    def check_situation(self, situation: str) -> None:
        """Raise UnknownId unless the frameworks know the situation."""
        known = self.frameworks.situations
        if situation not in known:
            raise UnknownId("situation", situation, known)

    def in_force(self, crisis: CrisisState) -> str | tuple[str, ...]:
        """Return the designations in force in a crisis: one id, or a sorted tuple of several.

        Each designation on the timeline ends those its situation `replaces` in the frameworks (an armed
        attack situation ends the anticipated one) and stays in force beside the others.
        """
        situations = sorted(self.frameworks.in_force([d.situation for d in crisis.timeline]))
        return situations[0] if len(situations) == 1 else tuple(situations)

    def compile(self, structure: Structure, spec: RequestSpec) -> DecisionPath:
        """Compile a request to its decision path in a structure.

        Compiling is a pure function of the structure, the frameworks and the request, so paths are
        cached by the request's fields (all but its id) and handed out under the new request's id.
        """
        key = (structure.id, spec.model_dump_json(exclude={"id"}))
        with self._lock:
            path = self._paths.get(key)
        if path is None:
            path = compile_request(structure, self.frameworks, spec)
            self._keep(self._paths, key, path, PATH_CACHE)
        return path.model_copy(update={"request": spec.id})

    def judge(
        self, spec: RequestSpec, situation: str | Sequence[str], granted: tuple[str, ...]
    ) -> Verdict | None:
        """Rule on the request's act under the designations in force with `granted` held.

        Returns None for a designation request (its path is the whole of the law). A ruling is a pure
        function of the frameworks (loaded once) and the query, so rulings are kept by the query's
        fields (every filing, and every act on a step that carries an approval, asks again).

        Raises:
            MissingFact: the request leaves out a fact the ruling under these designations depends on.
        """
        if spec.designates is not None or spec.actor is None or spec.activity is None:
            return None
        designations = situation if isinstance(situation, str) else tuple(situation)
        flags, held = frozenset(spec.flags), frozenset(granted)
        key = (designations, spec.actor, spec.activity, spec.supported, spec.location, flags, held)
        with self._lock:
            verdict = self._verdicts.get(key)
        if verdict is not None:
            return verdict
        query = Query(
            situation=designations,
            actor=spec.actor,
            activity=spec.activity,
            supported=spec.supported,
            location=spec.location,
            flags=flags,
            granted=held,
        )
        ruling = rule(self.frameworks, query)
        verdict = Verdict(
            situation=designations if isinstance(designations, str) else tuple(sorted(designations)),
            basis=ruling.basis,
            outcome=ruling.outcome.value,
            missing=ruling.missing,
            after=ruling.after,
            rule_ids=ruling.rule_ids,
            reasons=ruling.reasons,
            citations=tuple(str(c) for c in ruling.citations),
        )
        self._keep(self._verdicts, key, verdict, VERDICT_CACHE)
        return verdict

    def _keep(self, cache: dict[_K, _V], key: _K, value: _V, most: int) -> None:
        """Keep `value` under `key`, dropping the oldest entry once `most` are kept."""
        with self._lock:
            if len(cache) >= most:
                cache.pop(next(iter(cache)))
            cache[key] = value
