"""The compiled evaluator: rules indexed by (situation, actor, activity), conditions as bit masks.

Compilation turns each rule's conditions into the set of (situation, actor, activity) triples it can
fire for (a dict from triple to a short candidate list) and bit masks over supported parties, locations,
flags and designations in force (flags and designations share one mask); approvals become bits in the
law's order, so "the missing approvals in order" is reading the set bits of a mask from low to high.
Evaluating a query on one designation is one dict lookup, a few integer tests per candidate rule, and a
cache lookup keyed by (candidate list, fired rules, the part of the granted set that matters): what the
fired rules mean is worked out once per distinct combination. Several designations are ruled one by one
and joined by `kizuna.authority.rules.union`; a fact left out goes through `settle_facts`. The semantics
are those of `kizuna.authority.rules`, which a property test checks on random queries.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING

from kizuna.authority.query import Query
from kizuna.authority.rules import build_ruling, settle_facts, union
from kizuna.authority.ruling import Outcome, Ruling
from kizuna.errors import MissingFact
from kizuna.model.framework import Effect, Rule

if TYPE_CHECKING:
    from kizuna.authority.frameworks import FrameworkSet

#: A compiled rule: (index or bit, supported mask, location mask, all / none / any-flag / any-designation).
_Entry = tuple[int, int, int, int, int, int, int]
_Bucket = tuple[int, tuple[_Entry, ...]]
#: Bound on each cache; a cache is cleared when it grows past this (a long-running service).
CACHE_LIMIT = 500_000


class _Decision:
    """What a set of fired rules means, and its rulings by the part of the granted set that matters."""

    __slots__ = ("amendments", "deferrable", "prohibited", "relevant", "required", "rules", "rulings")

    def __init__(
        self,
        prohibited: Ruling | None,
        required: int,
        deferrable: int,
        amendments: tuple[tuple[int, int], ...],
        rules: tuple[tuple[Rule, int], ...],
    ) -> None:
        self.prohibited = prohibited
        self.required = required
        self.deferrable = deferrable
        self.amendments = amendments  # (amendment bit, bit of what it amends), for those required
        target_bits = 0
        for _, target in amendments:
            target_bits |= target
        self.relevant = required | target_bits  # the settled approvals that can change the ruling
        self.rules = rules  # the rules shown, each with the approvals it adds if it is a require rule
        self.rulings: dict[int, Ruling] = {}


class CompiledEngine:
    """Rule on queries fast; same answers as the reference evaluator in `kizuna.authority.rules`."""

    def __init__(self, frameworks: FrameworkSet) -> None:
        from kizuna.authority.rules import accepted

        self._fs = frameworks
        self._rules = frameworks.rules
        self._sup = {v: 1 << i for i, v in enumerate(frameworks.supported)}
        self._loc = {v: 1 << i for i, v in enumerate(frameworks.locations)}
        self._flag = {v: 1 << i for i, v in enumerate(frameworks.flags)}
        shift = len(self._flag)
        self._des = {v: 1 << (shift + i) for i, v in enumerate(frameworks.situations)}
        self._bit = {a: 1 << i for i, a in enumerate(frameworks.approvals)}
        self._ids = list(frameworks.approvals)
        approvals = list(frameworks.approvals.values())
        needs = {a.id: a.needs for a in approvals}
        satisfied_by = {self._bit[a.id]: self._mask(a.satisfied_by) for a in approvals if a.satisfied_by}
        self._closure: dict[int, int] = {}
        for a in approvals:
            seen, stack = {a.id}, list(needs[a.id])
            while stack:
                other = stack.pop()
                if other not in seen:
                    seen.add(other)
                    stack.extend(needs[other])
            self._closure[self._bit[a.id]] = self._mask(seen)
        # What holding one approval settles: it, what it needed, and what that satisfies. Settling
        # distributes over a granted set (a satisfied approval needs only one of its satisfiers held).
        self._settles: dict[str, int] = {}
        for a in approvals:
            held = self._closure[self._bit[a.id]]
            for settled, by in satisfied_by.items():
                if held & by:
                    held |= settled
            self._settles[a.id] = held
        self._amends = {self._bit[a.id]: self._bit[a.amends] for a in approvals if a.amends is not None}
        self._overrides = {
            i: {j for j, other in enumerate(self._rules) if other.id in rule.overrides}
            for i, rule in enumerate(self._rules)
        }
        candidates: dict[tuple[str, str, str], list[_Entry]] = {}
        for index, rule in enumerate(self._rules):
            flags, designated = rule.when.flags, rule.when.designated
            entry = (
                index,
                self._bits(self._sup, accepted(frameworks, rule, "supported")),
                self._bits(self._loc, accepted(frameworks, rule, "location")),
                self._bits(self._flag, flags.all) | self._bits(self._des, designated.all),
                self._bits(self._flag, flags.none) | self._bits(self._des, designated.none),
                self._bits(self._flag, flags.any),
                self._bits(self._des, designated.any),
            )
            for triple in product(
                accepted(frameworks, rule, "situation"),
                accepted(frameworks, rule, "actor"),
                accepted(frameworks, rule, "activity"),
            ):
                candidates.setdefault(triple, []).append(entry)
        # Give each candidate its bit within its list, and each list an id for the cache keys.
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        shared: dict[tuple[int, ...], int] = {}
        self._bucket_rules: list[tuple[int, ...]] = []
        for triple in product(frameworks.situations, frameworks.actors, frameworks.activities):
            entries = candidates.get(triple, [])
            signature = tuple(e[0] for e in entries)
            bucket_id = shared.get(signature)
            if bucket_id is None:
                bucket_id = shared[signature] = len(self._bucket_rules)
                self._bucket_rules.append(signature)
            self._buckets[triple] = (
                bucket_id,
                tuple((1 << k, *e[1:]) for k, e in enumerate(entries)),
            )
        self._flag_masks: dict[frozenset[str], int] = {}
        self._des_masks: dict[frozenset[str], int] = {}
        self._grant_masks: dict[frozenset[str], int] = {}
        self._decisions: dict[tuple[int, int], _Decision] = {}
        self._unions: dict[tuple[object, ...], tuple[tuple[Ruling, ...], Ruling]] = {}
        self._settled: dict[Query, Ruling | MissingFact] = {}

    @staticmethod
    def _bits(table: dict[str, int], values: object) -> int:
        mask = 0
        for v in values:  # type: ignore[attr-defined]
            mask |= table[v]
        return mask

    def _mask(self, approvals: object) -> int:
        return self._bits(self._bit, approvals)

    def _close(self, mask: int) -> int:
        """Add every approval the approvals in `mask` need, transitively (one table lookup per bit)."""
        out = mask
        while mask:
            low = mask & -mask
            out |= self._closure[low]
            mask ^= low
        return out

    def _settle(self, granted: frozenset[str]) -> int:
        """The approvals a granted set settles: granted, what they needed, and what they satisfy.

        Raises:
            KeyError: an approval is unknown (the caller validates the query to name it).
        """
        held = 0
        settles = self._settles
        for a in granted:
            held |= settles[a]
        return held

    def _flag_mask(self, query: Query) -> int:
        """The mask of the query's flags (cached by flag set).

        Raises:
            UnknownId: a flag is unknown.
        """
        try:
            mask = self._bits(self._flag, query.flags)
        except KeyError:
            self._fs.validate(query)
            raise
        if len(self._flag_masks) >= CACHE_LIMIT:
            self._flag_masks.clear()
        self._flag_masks[query.flags] = mask
        return mask

    def _grant_mask(self, query: Query) -> int:
        """The mask of what the query's granted approvals settle (cached by granted set).

        Raises:
            UnknownId: an approval is unknown.
        """
        try:
            mask = self._settle(query.granted)
        except KeyError:
            self._fs.validate(query)
            raise
        if len(self._grant_masks) >= CACHE_LIMIT:
            self._grant_masks.clear()
        self._grant_masks[query.granted] = mask
        return mask

    def _des_mask(self, query: Query) -> int:
        """The mask of the designations in force (cached by designation set).

        Raises:
            UnknownId: a situation is unknown.
        """
        mask = self._des_masks.get(query.situations)
        if mask is None:
            try:
                mask = self._bits(self._des, query.situations)
            except KeyError:
                self._fs.validate(query)
                raise
            if len(self._des_masks) < CACHE_LIMIT:
                self._des_masks[query.situations] = mask
        return mask

    def rule(self, query: Query) -> Ruling:
        """Rule on one query.

        The common case (one designation, every fact given) runs here without further calls; the body
        of `_basis` is repeated inline because a Python call costs as much as the rest of the ruling.

        Raises:
            UnknownId: an id of the query is not in the vocabularies.
            MissingFact: the query leaves out a fact the ruling depends on.
        """
        situation = query.single
        if situation is not None:
            bucket = self._buckets.get((situation, query.actor, query.activity))
            sup = self._sup.get(query.supported, 0)  # type: ignore[arg-type]
            loc = self._loc.get(query.location, 0)  # type: ignore[arg-type]
            if bucket is not None and sup and loc:
                flags = self._flag_masks.get(query.flags)
                if flags is None:
                    flags = self._flag_mask(query)
                flags |= self._des[situation]
                granted = self._grant_masks.get(query.granted)
                if granted is None:
                    granted = 0
                    settles = self._settles
                    try:
                        for a in query.granted:
                            granted |= settles[a]
                    except KeyError:
                        self._fs.validate(query)  # names the unknown approval
                        raise
                    if len(self._grant_masks) < CACHE_LIMIT:
                        self._grant_masks[query.granted] = granted
                bucket_id, entries = bucket
                fired = 0
                for bit, s, lo, need, ban, any_flag, any_des in entries:
                    if (
                        s & sup
                        and lo & loc
                        and flags & need == need
                        and not flags & ban
                        and (not any_flag or flags & any_flag)
                        and (not any_des or flags & any_des)
                    ):
                        fired |= bit
                decision = self._decisions.get((bucket_id, fired))
                if decision is None:
                    return self._basis(bucket, sup, loc, flags, granted)
                if decision.prohibited is not None:
                    return decision.prohibited
                ruling = decision.rulings.get(granted & decision.relevant)
                if ruling is None:
                    return self._basis(bucket, sup, loc, flags, granted)
                return ruling
        elif query.supported is not None and query.location is not None:
            try:
                return self._complete(query)
            except KeyError:
                self._fs.validate(query)  # names the unknown id
                raise
        return self._slow(query)

    def rule_many(self, queries: list[Query]) -> list[Ruling]:
        """Rule on a batch of queries, in order."""
        rule = self.rule
        return [rule(q) for q in queries]

    # -- the slow path: first sight of a flag or grant set, several designations, facts left out --------

    def _slow(self, query: Query) -> Ruling:
        self._fs.validate(query)  # raises UnknownId for the first unknown id
        if query.flags not in self._flag_masks:
            self._flag_mask(query)
        self._des_mask(query)
        if query.granted not in self._grant_masks:
            self._grant_mask(query)
        if query.supported is not None and query.location is not None:
            return self._complete(query)
        found = self._settled.get(query)
        if found is None:
            try:
                found = settle_facts(self._fs, query, self._complete)
            except MissingFact as missing:
                found = missing
            if len(self._settled) >= CACHE_LIMIT:
                self._settled.clear()
            self._settled[query] = found
        if isinstance(found, MissingFact):
            raise MissingFact(found.fields, found.options, found.detail)
        return found

    def _complete(self, query: Query) -> Ruling:
        """Rule on a query that states every fact, under each designation, then on their union.

        Raises:
            KeyError: an id is unknown (the caller validates the query to name it).
        """
        sup, loc = self._sup[query.supported], self._loc[query.location]  # type: ignore[index]
        flags = self._flag_masks.get(query.flags)
        if flags is None:
            flags = self._flag_mask(query)
        flags |= self._des_mask(query)
        granted = self._grant_masks.get(query.granted)
        if granted is None:
            granted = self._grant_mask(query)
        buckets, actor, activity, basis = self._buckets, query.actor, query.activity, self._basis
        bases = [basis(buckets[(s, actor, activity)], sup, loc, flags, granted) for s in query.ordered]
        if len(bases) == 1:
            return bases[0]
        key = (query.situations, *map(id, bases))
        cached = self._unions.get(key)
        if cached is not None and all(a is b for a, b in zip(cached[0], bases, strict=True)):
            return cached[1]
        ruled = union(self._fs, query, list(zip(query.ordered, bases, strict=True)))
        if len(self._unions) >= CACHE_LIMIT:
            self._unions.clear()
        self._unions[key] = (tuple(bases), ruled)  # the rulings are kept, so their ids stay theirs
        return ruled

    def _basis(self, bucket: _Bucket, sup: int, loc: int, flags: int, granted: int) -> Ruling:
        """Rule under one designation: which candidates fire, then what they mean given what is settled."""
        bucket_id, entries = bucket
        fired = 0
        for bit, s, lo, need, ban, any_flag, any_des in entries:
            if (
                s & sup
                and lo & loc
                and flags & need == need
                and not flags & ban
                and (not any_flag or flags & any_flag)
                and (not any_des or flags & any_des)
            ):
                fired |= bit
        decision = self._decisions.get((bucket_id, fired))
        if decision is None:
            if len(self._decisions) >= CACHE_LIMIT:
                self._decisions.clear()
                self._unions.clear()
            decision = self._decisions[(bucket_id, fired)] = self._decide(bucket_id, fired)
        if decision.prohibited is not None:
            return decision.prohibited
        done = granted & decision.relevant
        ruling = decision.rulings.get(done)
        if ruling is None:
            ruling = decision.rulings[done] = self._ruling(decision, done)
        return ruling

    # -- what fired rules mean ------------------------------------------------------------------------

    def _ruling(self, decision: _Decision, done: int) -> Ruling:
        required = decision.required
        for amendment, target in decision.amendments:
            if not done & target:
                required &= ~amendment  # nothing to amend yet: the plan still to be made lists the act
        after = required & decision.deferrable & ~done
        missing = required & ~decision.deferrable & ~done
        return build_ruling(
            outcome=Outcome.REQUIRES_APPROVAL if missing else Outcome.PERMITTED,
            required=self._names(required),
            missing=self._names(missing),
            after=self._names(after),
            rules=[r for r, adds in decision.rules if not adds or adds & required],
            lawful_under=(),
        )

    def _names(self, mask: int) -> tuple[str, ...]:
        out = []
        i = 0
        while mask:
            if mask & 1:
                out.append(self._ids[i])
            mask >>= 1
            i += 1
        return tuple(out)

    def _decide(self, bucket_id: int, fired_bits: int) -> _Decision:
        indices = [i for k, i in enumerate(self._bucket_rules[bucket_id]) if fired_bits >> k & 1]
        dropped = set().union(*(self._overrides[i] for i in indices)) if indices else set()
        fired = [self._rules[i] for i in indices if i not in dropped]
        decisive = any(not r.default and r.effect in (Effect.ALLOW, Effect.PROHIBIT) for r in fired)
        fired = [r for r in fired if not (r.default and decisive)]
        prohibits = [r for r in fired if r.effect is Effect.PROHIBIT]
        if prohibits:
            lawful: list[str] = []
            for r in prohibits:
                lawful += [s for s in r.lawful_under if s not in lawful]
            ruling = build_ruling(
                outcome=Outcome.PROHIBITED,
                required=(),
                missing=(),
                after=(),
                rules=tuple(prohibits),
                lawful_under=tuple(lawful),
            )
            return _Decision(ruling, 0, 0, (), ())
        required = 0
        for r in fired:
            if r.effect in (Effect.ALLOW, Effect.REQUIRE):
                required |= self._mask(r.approvals)
        required = self._close(required)
        amendments = tuple((bit, target) for bit, target in self._amends.items() if required & bit)
        deferrable = 0
        shown: list[tuple[Rule, int]] = []
        for r in fired:
            if r.effect is Effect.DEFER:
                mask = self._mask(r.approvals)
                if mask & required:
                    deferrable |= mask
                    shown.append((r, 0))
            else:
                shown.append((r, self._mask(r.approvals) if r.effect is Effect.REQUIRE else 0))
        return _Decision(None, required, deferrable, amendments, tuple(shown))
