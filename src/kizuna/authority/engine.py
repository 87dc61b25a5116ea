"""The compiled evaluator: rules indexed by (situation, actor, activity), conditions as bit masks.

Compilation turns each rule's conditions into the set of (situation, actor, activity) triples it can
fire for (a dict from triple to a short candidate list) and bit masks over supported parties, locations
and flags; approvals become bits in the law's order, so "the missing approvals in order" is reading the
set bits of a mask from low to high. Evaluating a query is one dict lookup, a few integer tests per
candidate rule, and a cache lookup keyed by (candidate list, fired rules, granted approvals): what the
fired rules mean is worked out once per distinct combination. The semantics are those of
`kizuna.authority.rules`, which a property test checks on random queries.
"""

from __future__ import annotations

from itertools import product
from typing import TYPE_CHECKING

from kizuna.authority.query import Query
from kizuna.authority.rules import build_ruling
from kizuna.authority.ruling import Outcome, Ruling
from kizuna.model.framework import Effect, Rule

if TYPE_CHECKING:
    from kizuna.authority.frameworks import FrameworkSet

#: A compiled rule: (index or bit, supported mask, location mask, flags all / none / any masks).
_Entry = tuple[int, int, int, int, int, int]
#: Bound on cached decisions; the cache is cleared when it grows past this (a long-running service).
CACHE_LIMIT = 500_000


class _Decision:
    """What a set of fired rules means, and its rulings by the part of the granted set that matters."""

    __slots__ = ("deferrable", "fresh", "prohibited", "relevant", "required", "rules", "rulings")

    def __init__(
        self, prohibited: Ruling | None, required: int, deferrable: int, fresh: int, rules: tuple[Rule, ...]
    ) -> None:
        self.prohibited = prohibited
        self.required = required
        self.deferrable = deferrable
        self.fresh = fresh
        self.relevant = required & ~fresh  # the granted approvals that can change the ruling
        self.rules = rules
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
        self._bit = {a: 1 << i for i, a in enumerate(frameworks.approvals)}
        self._ids = list(frameworks.approvals)
        self._needs = {
            bit: self._mask(a.needs)
            for a, bit in zip(frameworks.approvals.values(), self._bit.values(), strict=True)
        }
        self._overrides = {
            i: {j for j, other in enumerate(self._rules) if other.id in rule.overrides}
            for i, rule in enumerate(self._rules)
        }
        candidates: dict[tuple[str, str, str], list[_Entry]] = {}
        for index, rule in enumerate(self._rules):
            flags = rule.when.flags
            entry = (
                index,
                self._bits(self._sup, accepted(frameworks, rule, "supported")),
                self._bits(self._loc, accepted(frameworks, rule, "location")),
                self._bits(self._flag, flags.all),
                self._bits(self._flag, flags.none),
                self._bits(self._flag, flags.any),
            )
            for triple in product(
                accepted(frameworks, rule, "situation"),
                accepted(frameworks, rule, "actor"),
                accepted(frameworks, rule, "activity"),
            ):
                candidates.setdefault(triple, []).append(entry)
        # Give each candidate its bit within its list, and each list an id for the cache keys.
        self._buckets: dict[tuple[str, str, str], tuple[int, tuple[_Entry, ...]]] = {}
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
                tuple((1 << k, e[1], e[2], e[3], e[4], e[5]) for k, e in enumerate(entries)),
            )
        self._flag_masks: dict[frozenset[str], int] = {}
        self._grant_masks: dict[frozenset[str], int] = {}
        self._decisions: dict[tuple[int, int], _Decision] = {}

    @staticmethod
    def _bits(table: dict[str, int], values: object) -> int:
        mask = 0
        for v in values:  # type: ignore[attr-defined]
            mask |= table[v]
        return mask

    def _mask(self, approvals: object) -> int:
        return self._bits(self._bit, approvals)

    def _close(self, mask: int) -> int:
        """Add every approval the approvals in `mask` need, transitively."""
        while True:
            grown = mask
            for bit, needs in self._needs.items():
                if mask & bit:
                    grown |= needs
            if grown == mask:
                return mask
            mask = grown

    def rule(self, query: Query) -> Ruling:
        """Rule on one query.

        Raises:
            UnknownId: an id of the query is not in the vocabularies.
        """
        bucket = self._buckets.get((query.situation, query.actor, query.activity))
        sup = self._sup.get(query.supported, 0)
        loc = self._loc.get(query.location, 0)
        flags = self._flag_masks.get(query.flags)
        granted = self._grant_masks.get(query.granted)
        if bucket is None or not sup or not loc or flags is None or granted is None:
            self._fs.validate(query)  # raises UnknownId for the first unknown id
            flags = self._flag_masks[query.flags] = self._bits(self._flag, query.flags)
            granted = self._grant_masks[query.granted] = self._close(self._mask(query.granted))
            bucket = self._buckets[(query.situation, query.actor, query.activity)]
        bucket_id, entries = bucket
        fired = 0
        for bit, s, lo, need, ban, any_ in entries:
            if (
                s & sup
                and lo & loc
                and flags & need == need
                and not flags & ban
                and (not any_ or flags & any_)
            ):
                fired |= bit
        decision = self._decisions.get((bucket_id, fired))
        if decision is None:
            if len(self._decisions) >= CACHE_LIMIT:
                self._decisions.clear()
            decision = self._decisions[(bucket_id, fired)] = self._decide(bucket_id, fired)
        if decision.prohibited is not None:
            return decision.prohibited
        done = granted & decision.relevant
        ruling = decision.rulings.get(done)
        if ruling is None:
            ruling = decision.rulings[done] = self._ruling(decision, done)
        return ruling

    def rule_many(self, queries: list[Query]) -> list[Ruling]:
        """Rule on a batch of queries, in order."""
        rule = self.rule
        return [rule(q) for q in queries]

    # -- what fired rules mean ------------------------------------------------------------------------

    def _ruling(self, decision: _Decision, done: int) -> Ruling:
        after = decision.required & decision.deferrable & ~done
        missing = decision.required & ~decision.deferrable & ~done
        return build_ruling(
            outcome=Outcome.REQUIRES_APPROVAL if missing else Outcome.PERMITTED,
            required=self._names(decision.required),
            missing=self._names(missing),
            after=self._names(after),
            rules=decision.rules,
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
            return _Decision(ruling, 0, 0, 0, tuple(prohibits))
        required = fresh = 0
        for r in fired:
            if r.effect in (Effect.ALLOW, Effect.REQUIRE):
                required |= self._mask(r.approvals) | self._mask(r.fresh)
                fresh |= self._mask(r.fresh)
        required = self._close(required)
        deferrable = 0
        shown = []
        for r in fired:
            if r.effect is Effect.DEFER:
                mask = self._mask(r.approvals)
                if mask & required:
                    deferrable |= mask
                    shown.append(r)
            else:
                shown.append(r)
        return _Decision(None, required, deferrable, fresh, tuple(shown))
