"""Rule semantics: when a rule's conditions hold, how fired rules combine, and load-time conflict checks.

This module is the *reference* evaluator: it reads the rules as written, one by one, with no index and no
cache. `kizuna.authority.engine` compiles the same rules into a fast evaluator; a property test and the
benchmark hold the two side by side. Both share `union` and `settle_facts`, so the parts of the
semantics above single rules are written once.

How rules combine (see docs/authority.md):

1. Each designation in force is a legal basis, read on its own: a rule's `situation` condition is
   checked against that designation, its `designated` condition against all of them.
2. A rule fires when every condition holds. Rules listed in a fired rule's `overrides` are dropped.
   Default (fallback) rules count only when no other allow or prohibit rule fired.
3. Prohibitions win: any prohibit rule makes that basis `prohibited`.
4. Otherwise the approvals of the allow and require rules (with the approvals they `need`) are
   required, in the law's order; an amendment (`amends`) is required only once what it amends is held.
   Those a defer rule names may come after acting. Granted approvals are done, with what they needed
   and what they settle (`satisfied_by`); the rest are missing. A granted approval is never missing.
5. The union: the act is lawful if it is lawful under some designation, with that designation's
   approvals (the best: permitted first, then the fewest missing); prohibited only if every
   designation prohibits it.
6. A left-out fact (`supported`, `location`) is tried at every value; if the rulings differ, the query
   is refused with `MissingFact` naming the fact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import product
from typing import TYPE_CHECKING

from kizuna.authority.query import OPTIONAL, Query
from kizuna.authority.ruling import Outcome, Ruling
from kizuna.errors import MissingFact, Problem
from kizuna.model.framework import SINGLE_FIELDS, Effect, FlagMatch, Rule

if TYPE_CHECKING:
    from kizuna.authority.frameworks import FrameworkSet


def _set_holds(match: FlagMatch, present: frozenset[str]) -> bool:
    if any(f not in present for f in match.all):
        return False
    if any(f in present for f in match.none):
        return False
    return not (match.any and not any(f in present for f in match.any))


def holds(frameworks: FrameworkSet, rule: Rule, query: Query, situation: str) -> bool:
    """Tell whether every condition of `rule` holds for `query` read under the designation `situation`.

    The query's `supported` and `location` must be given (see `settle_facts`).
    """
    when = rule.when
    for name in SINGLE_FIELDS:
        match = when.field(name)
        if match is None:
            continue
        value = situation if name == "situation" else getattr(query, name)
        if name == "actor":
            inside = any(a in match.ids for a in frameworks.lineage(value))
        else:
            inside = value in match.ids
        if inside == match.negated:
            return False
    return _set_holds(when.flags, query.flags) and _set_holds(when.designated, query.situations)


def closure(frameworks: FrameworkSet, approvals: Iterable[str]) -> set[str]:
    """Return `approvals` with every approval they need, transitively."""
    out: set[str] = set()
    stack = list(approvals)
    while stack:
        a = stack.pop()
        if a in out:
            continue
        out.add(a)
        stack.extend(frameworks.approvals[a].needs)
    return out


def done(frameworks: FrameworkSet, granted: Iterable[str]) -> set[str]:
    """Return the approvals a granted set settles: the granted ones, what they needed, what they satisfy."""
    held = closure(frameworks, granted)
    return held | {a.id for a in frameworks.approvals.values() if set(a.satisfied_by) & held}


def fired_rules(frameworks: FrameworkSet, query: Query, situation: str) -> list[Rule]:
    """Return the rules that count for `query` under `situation`, in data order, after overrides."""
    fired = [r for r in frameworks.rules if holds(frameworks, r, query, situation)]
    dropped = {o for r in fired for o in r.overrides}
    fired = [r for r in fired if r.id not in dropped]
    decisive = any(not r.default and r.effect in (Effect.ALLOW, Effect.PROHIBIT) for r in fired)
    return [r for r in fired if not (r.default and decisive)]


def evaluate(frameworks: FrameworkSet, query: Query) -> Ruling:
    """Rule on `query` by reading every rule in turn: the reference the compiled engine must match.

    Raises:
        UnknownId: an id of the query is not in the frameworks' vocabulary.
        MissingFact: the query leaves out a fact the ruling depends on.
    """
    frameworks.validate(query)

    def complete(q: Query) -> Ruling:
        bases = [(s, combine(frameworks, fired_rules(frameworks, q, s), q.granted)) for s in q.ordered]
        return union(frameworks, q, bases)

    return settle_facts(frameworks, query, complete)


def combine(frameworks: FrameworkSet, fired: Sequence[Rule], granted: Iterable[str]) -> Ruling:
    """Combine the rules fired under one designation into a ruling, given the approvals granted."""
    prohibits = [r for r in fired if r.effect is Effect.PROHIBIT]
    if prohibits:
        lawful: list[str] = []
        for r in prohibits:
            lawful += [s for s in r.lawful_under if s not in lawful]
        return build_ruling(
            outcome=Outcome.PROHIBITED,
            required=(),
            missing=(),
            after=(),
            rules=prohibits,
            lawful_under=tuple(lawful),
        )
    allows = [r for r in fired if r.effect in (Effect.ALLOW, Effect.REQUIRE)]
    order = frameworks.approval_order
    settled = done(frameworks, granted)
    needed = closure(frameworks, [a for r in allows for a in r.approvals])
    required = sorted(
        (a for a in needed if (amended := frameworks.approvals[a].amends) is None or amended in settled),
        key=order.__getitem__,
    )
    defers = [r for r in fired if r.effect is Effect.DEFER and set(r.approvals) & needed]
    deferrable = {a for r in defers for a in r.approvals}
    after = tuple(a for a in required if a in deferrable and a not in settled)
    missing = tuple(a for a in required if a not in deferrable and a not in settled)
    # A defer rule shows when it concerns a required approval; a require rule whose approvals are all
    # amendments with nothing to amend yet does not apply.
    kept = set(required)
    shown = [
        r
        for r in fired
        if (r.effect is not Effect.DEFER or r in defers)
        and (r.effect is not Effect.REQUIRE or set(r.approvals) & kept)
    ]
    outcome = Outcome.REQUIRES_APPROVAL if missing else Outcome.PERMITTED
    return build_ruling(
        outcome=outcome, required=tuple(required), missing=missing, after=after, rules=shown, lawful_under=()
    )


def build_ruling(
    *,
    outcome: Outcome,
    required: tuple[str, ...],
    missing: tuple[str, ...],
    after: tuple[str, ...],
    rules: Sequence[Rule],
    lawful_under: tuple[str, ...],
) -> Ruling:
    """Assemble a ruling from the rules that fired: reasons and citations in firing order, deduplicated."""
    citations = dict.fromkeys(c for r in rules for c in r.citations)
    return Ruling(
        outcome=outcome,
        required=required,
        missing=missing,
        after=after,
        reasons=tuple(reason_text(r) for r in rules),
        rule_ids=tuple(r.id for r in rules),
        citations=tuple(citations),
        lawful_under=lawful_under,
        assumptions=tuple(r.assumption for r in rules if r.assumption),
    )


def reason_text(rule: Rule) -> str:
    """The rule in words, with its assumption when it rests on one."""
    return (
        f"{rule.reason.strip()} [assumption: {rule.assumption.strip()}]"
        if rule.assumption
        else rule.reason.strip()
    )


# -- above single designations: the union, and facts left out ---------------------------------------------


def union(frameworks: FrameworkSet, query: Query, bases: Sequence[tuple[str, Ruling]]) -> Ruling:
    """Rule on the union of designations from the ruling under each one.

    One designation: its ruling. Several: the act is lawful if some designation gives it a legal basis;
    the ruling is that basis's (permitted before requires-approval, then the fewest approvals missing,
    then the fewest that follow, then the fewest required, then the vocabulary's order), naming it in
    `basis` and the other lawful ones in `alternatives`. If every designation prohibits the act, the
    ruling joins their prohibitions; `lawful_under` then lists only designations not already in force.
    """
    if len(bases) == 1:
        return bases[0][1]
    position = frameworks.situation_order
    ranked = sorted(bases, key=lambda b: position[b[0]])
    lawful = [(s, r) for s, r in ranked if not r.prohibited]
    if lawful:
        s, best = min(
            lawful,
            key=lambda b: (
                -b[1].outcome.rank,
                len(b[1].missing),
                len(b[1].after),
                len(b[1].required),
                position[b[0]],
            ),
        )
        return Ruling(
            outcome=best.outcome,
            required=best.required,
            missing=best.missing,
            after=best.after,
            reasons=best.reasons,
            rule_ids=best.rule_ids,
            citations=best.citations,
            lawful_under=best.lawful_under,
            assumptions=best.assumptions,
            basis=s,
            alternatives=tuple(other for other, _ in lawful if other != s),
        )
    reasons: dict[str, str] = {}
    for _, r in ranked:
        for rid, reason in zip(r.rule_ids, r.reasons, strict=True):
            reasons.setdefault(rid, reason)
    lawful_under = dict.fromkeys(s for _, r in ranked for s in r.lawful_under if s not in query.situations)
    return Ruling(
        outcome=Outcome.PROHIBITED,
        required=(),
        missing=(),
        after=(),
        reasons=tuple(reasons.values()),
        rule_ids=tuple(reasons),
        citations=tuple(dict.fromkeys(c for _, r in ranked for c in r.citations)),
        lawful_under=tuple(lawful_under),
        assumptions=tuple(dict.fromkeys(a for _, r in ranked for a in r.assumptions)),
    )


def settle_facts(frameworks: FrameworkSet, query: Query, rule_complete: Callable[[Query], Ruling]) -> Ruling:
    """Rule on a query that may leave out `supported` or `location`.

    A left-out fact is tried at every value of its vocabulary. If every ruling is the same, that is the
    ruling: the law does not depend on the fact. Otherwise the query is refused, naming the facts the
    ruling depends on and how it differs.

    Raises:
        MissingFact: the rulings differ with the value of a left-out fact.
    """
    open_fields = [f for f in OPTIONAL if getattr(query, f) is None]
    if not open_fields:
        return rule_complete(query)
    values = [tuple(frameworks.vocabulary(f)) for f in open_fields]
    rulings = {
        combo: rule_complete(query.replace(**dict(zip(open_fields, combo, strict=True))))
        for combo in product(*values)
    }
    first = next(iter(rulings.values()))
    if all(r is first or r == first for r in rulings.values()):
        return first
    matter: list[str] = []
    for i, name in enumerate(open_fields):
        if any(
            rulings[(*combo[:i], v, *combo[i + 1 :])] != ruling
            for combo, ruling in rulings.items()
            for v in values[i]
        ):
            matter.append(name)
    name = matter[0]
    i = open_fields.index(name)
    outcomes: dict[str, list[str]] = {}
    for v in values[i]:
        seen = dict.fromkeys(r.outcome.value for combo, r in rulings.items() if combo[i] == v)
        outcomes.setdefault(" or ".join(seen), []).append(v)
    if len(outcomes) > 1:
        detail = "; ".join(f"{outcome} for {', '.join(vs)}" for outcome, vs in outcomes.items())
        detail = f"with {name}: {detail}"
    else:
        detail = f"the approvals or reasons differ with {name}"
    raise MissingFact(matter, {f: values[open_fields.index(f)] for f in matter}, detail)


# -- load-time checks ---------------------------------------------------------------------------------


def accepted(frameworks: FrameworkSet, rule: Rule, name: str) -> frozenset[str]:
    """Return the values of query field `name` for which `rule`'s condition on it holds."""
    vocabulary = frameworks.vocabulary(name)
    match = rule.when.field(name)
    if match is None:
        return frozenset(vocabulary)
    if name == "actor":
        return frozenset(
            a for a in vocabulary if any(x in match.ids for x in frameworks.lineage(a)) != match.negated
        )
    return match.expand(tuple(vocabulary))


def _sets_overlap(a: FlagMatch, b: FlagMatch, given: Iterable[str] = ()) -> list[str] | None:
    """Return a set of ids both set conditions hold for (containing `given`), or None if there is none."""
    need = set(a.all) | set(b.all) | set(given)
    banned = set(a.none) | set(b.none)
    if need & banned:
        return None
    for match in (a, b):
        if match.any and not set(match.any) & need:
            options = [f for f in match.any if f not in banned]
            if not options:
                return None
            need.add(options[0])
    return sorted(need)


def overlap(frameworks: FrameworkSet, a: Rule, b: Rule) -> dict[str, object] | None:
    """Return a query (as a dict) for which both rules' conditions hold, or None if there is none."""
    witness: dict[str, object] = {}
    for name in SINGLE_FIELDS:
        if name == "situation":
            continue
        both = accepted(frameworks, a, name) & accepted(frameworks, b, name)
        if not both:
            return None
        witness[name] = sorted(both, key=frameworks.vocabulary(name).index)[0]
    flags = _sets_overlap(a.when.flags, b.when.flags)
    if flags is None:
        return None
    situations = accepted(frameworks, a, "situation") & accepted(frameworks, b, "situation")
    for situation in frameworks.vocabulary("situation"):
        if situation not in situations:
            continue
        designated = _sets_overlap(a.when.designated, b.when.designated, (situation,))
        if designated is not None:
            witness["situation"] = situation
            if designated != [situation]:
                witness["designated"] = designated
            witness["flags"] = flags
            return {k: witness[k] for k in ("situation", *witness) if k in witness}
    return None


def find_conflicts(frameworks: FrameworkSet) -> list[Problem]:
    """Return every pair of rules that can fire together with contradictory effects and no precedence.

    Contradictions: two default rules, one allowing and one prohibiting; a defer rule letting an approval
    come after acting where another rule requires it `prior`; an allow rule that `overrides` a
    prohibition (prohibitions always win, so the precedence cannot hold).
    """
    problems: list[Problem] = []
    rules = frameworks.rules
    by_id = {r.id: r for r in rules}
    for rule in rules:
        for target in rule.overrides:
            other = by_id.get(target)
            if other is not None and other.effect is Effect.PROHIBIT and rule.effect is Effect.ALLOW:
                problems.append(
                    Problem(
                        rule.file,
                        rule.line,
                        f"rules[{rule.id}].overrides",
                        f"an allow rule cannot override the prohibition {other.id!r} ({other.where}); "
                        "prohibitions win",
                        other.id,
                        "narrow the prohibition's conditions instead",
                    )
                )
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if a.id in b.overrides or b.id in a.overrides:
                continue
            kind = _contradiction(a, b)
            if kind is None:
                continue
            witness = overlap(frameworks, a, b)
            if witness is None:
                continue
            example = ", ".join(f"{k}={v}" for k, v in witness.items())
            problems.append(
                Problem(
                    b.file,
                    b.line,
                    f"rules[{b.id}]",
                    f"conflicts with rule {a.id!r} ({a.where}): {kind}; both fire for {example}",
                    b.id,
                    "narrower conditions, or `overrides:` naming the rule that should give way",
                )
            )
    return problems


def _contradiction(a: Rule, b: Rule) -> str | None:
    if a.default and b.default and {a.effect, b.effect} == {Effect.ALLOW, Effect.PROHIBIT}:
        return "one fallback allows, the other prohibits"
    for x, y in ((a, b), (b, a)):
        if x.effect is Effect.DEFER and y.effect in (Effect.ALLOW, Effect.REQUIRE):
            both = set(x.approvals) & set(y.prior)
            if both:
                return f"{x.id!r} lets {sorted(both)[0]} come after acting, {y.id!r} requires it before"
    return None


def find_gaps(frameworks: FrameworkSet) -> list[Problem]:
    """Return the (situation, actor, activity) triples no unconditional fallback rule covers.

    Every query must get a ruling with a citation, so each triple needs a default rule whose only
    conditions are on situation, actor and activity.
    """
    fallbacks = [
        r
        for r in frameworks.rules
        if r.default
        and r.when.supported is None
        and r.when.location is None
        and not (r.when.flags.all or r.when.flags.any or r.when.flags.none)
        and not (r.when.designated.all or r.when.designated.any or r.when.designated.none)
    ]
    covered: set[tuple[str, str, str]] = set()
    for r in fallbacks:
        covered.update(
            product(
                accepted(frameworks, r, "situation"),
                accepted(frameworks, r, "actor"),
                accepted(frameworks, r, "activity"),
            )
        )
    problems: list[Problem] = []
    for actor in frameworks.actors:
        gaps = [
            (s, c)
            for s in frameworks.situations
            for c in frameworks.activities
            if (s, actor, c) not in covered
        ]
        if gaps:
            s, c = gaps[0]
            term = frameworks.actors[actor]
            problems.append(
                Problem(
                    term.file,
                    term.line,
                    f"actors[{actor}]",
                    f"no fallback rule covers {len(gaps)} situation/activity pair(s) of this actor, "
                    f"e.g. situation={s} activity={c}",
                    actor,
                    "a `default: true` rule conditioned only on situation, actor and activity",
                )
            )
    return problems
