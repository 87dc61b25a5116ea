"""Rule semantics: when a rule's conditions hold, how fired rules combine, and load-time conflict checks.

This module is the *reference* evaluator: it reads the rules as written, one by one, with no index and no
cache. `kizuna.authority.engine` compiles the same rules into a fast evaluator; a property test and the
benchmark hold the two side by side.

How rules combine (see docs/authority.md):

1. A rule fires when every condition holds. Rules listed in a fired rule's `overrides` are dropped.
2. Default (fallback) rules count only when no other allow or prohibit rule fired.
3. Prohibitions win: any prohibit rule makes the outcome `prohibited`.
4. Otherwise the approvals of the allow rules (with the approvals they `need`) are required, in the
   law's order; those a defer rule names may come after acting; granted ones (and what they needed) are
   done, except those an allow rule lists as `fresh`; the rest are missing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import product
from typing import TYPE_CHECKING

from kizuna.authority.query import Query
from kizuna.authority.ruling import Outcome, Ruling
from kizuna.errors import Problem
from kizuna.model.framework import SINGLE_FIELDS, Effect, Rule

if TYPE_CHECKING:
    from kizuna.authority.frameworks import FrameworkSet


def holds(frameworks: FrameworkSet, rule: Rule, query: Query) -> bool:
    """Tell whether every condition of `rule` holds for `query` (read directly, no index)."""
    when = rule.when
    for name in SINGLE_FIELDS:
        match = when.field(name)
        if match is None:
            continue
        value: str = getattr(query, name)
        if name == "actor":
            inside = any(a in match.ids for a in frameworks.lineage(value))
        else:
            inside = value in match.ids
        if inside == match.negated:
            return False
    flags = query.flags
    if any(f not in flags for f in when.flags.all):
        return False
    if any(f in flags for f in when.flags.none):
        return False
    return not (when.flags.any and not any(f in flags for f in when.flags.any))


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


def fired_rules(frameworks: FrameworkSet, query: Query) -> list[Rule]:
    """Return the rules that count for `query`, in data order, after overrides and defaults."""
    fired = [r for r in frameworks.rules if holds(frameworks, r, query)]
    dropped = {o for r in fired for o in r.overrides}
    fired = [r for r in fired if r.id not in dropped]
    decisive = any(not r.default and r.effect in (Effect.ALLOW, Effect.PROHIBIT) for r in fired)
    return [r for r in fired if not (r.default and decisive)]


def evaluate(frameworks: FrameworkSet, query: Query) -> Ruling:
    """Rule on `query` by reading every rule in turn: the reference the compiled engine must match.

    Raises:
        UnknownId: an id of the query is not in the frameworks' vocabulary.
    """
    frameworks.validate(query)
    return combine(frameworks, fired_rules(frameworks, query), query.granted)


def combine(frameworks: FrameworkSet, fired: Sequence[Rule], granted: Iterable[str]) -> Ruling:
    """Combine fired rules into a ruling, given the approvals granted."""
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
    required = sorted(
        closure(frameworks, [a for r in allows for a in (*r.approvals, *r.fresh)]), key=order.__getitem__
    )
    defers = [r for r in fired if r.effect is Effect.DEFER and set(r.approvals) & set(required)]
    deferrable = {a for r in defers for a in r.approvals}
    fresh = {a for r in allows for a in r.fresh}
    done = closure(frameworks, granted) - fresh
    after = tuple(a for a in required if a in deferrable and a not in done)
    missing = tuple(a for a in required if a not in deferrable and a not in done)
    shown = [r for r in fired if r.effect is not Effect.DEFER or r in defers]
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


def overlap(frameworks: FrameworkSet, a: Rule, b: Rule) -> dict[str, object] | None:
    """Return a query (as a dict) for which both rules' conditions hold, or None if there is none."""
    witness: dict[str, object] = {}
    for name in SINGLE_FIELDS:
        both = accepted(frameworks, a, name) & accepted(frameworks, b, name)
        if not both:
            return None
        witness[name] = sorted(both, key=frameworks.vocabulary(name).index)[0]
    need = set(a.when.flags.all) | set(b.when.flags.all)
    banned = set(a.when.flags.none) | set(b.when.flags.none)
    if need & banned:
        return None
    for rule in (a, b):
        if rule.when.flags.any and not set(rule.when.flags.any) & need:
            options = [f for f in rule.when.flags.any if f not in banned]
            if not options:
                return None
            need.add(options[0])
    witness["flags"] = sorted(need)
    return witness


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
