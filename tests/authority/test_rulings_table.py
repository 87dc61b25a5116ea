"""The law, case by case: each row is a query, the ruling the law gives, and the source row that says so.

Row format: `situation actor activity [sup=S] [at=LOCATION] [+flag ...] [granted=a,b]`, then the outcome
(`prohibited>s1,s2` lists the situations under which the act would be lawful), the missing approvals in
the order they must be obtained, the approvals that may come after acting, and `source=` — the key of
alliance-facts.md §0 and the row or article (an [assumption] marks rows resting on an assumed reading).
"""

# ruff: noqa: E501 - the case table keeps one case per line, so each reads with its source row
from __future__ import annotations

import pytest

from kizuna.authority import FrameworkSet, Outcome, Query, load_frameworks

NSC, BRP, BP = "nsc-deliberation", "basic-response-plan", "basic-plan"
DIET, DIET_PRIOR = "diet-approval", "diet-prior-approval"
PMA, PMO, DMO = "prime-minister-approval", "prime-minister-order", "defense-minister-order"
CAB, USR, FMR, GOV, PC = (
    "cabinet-decision",
    "us-request",
    "foreign-minister-request",
    "governor-request",
    "prior-consultation",
)
AAS_STS = "armed-attack,survival-threatening"

# Each case: the query, the outcome, the missing approvals in order, those that may come after, the source row.
# fmt: off
CASES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], str]] = [
    # Use of force: defense operations in AAS and STS only (three conditions).
    ("armed-attack jsdf use-of-force +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMO), (), "DOJ16 Fig II-3-2-4; ART9"),
    ("armed-attack jsdf use-of-force +urgent +in-response-plan", "requires-approval", (NSC, BRP, PMO), (DIET,), "ART9 (special urgency)"),
    ("armed-attack msdf use-of-force +in-response-plan granted=basic-response-plan,diet-approval,prime-minister-order", "permitted", (), (), "DOJ16 Ref24 (76)"),
    ("armed-attack jsdf use-of-force +urgent granted=basic-response-plan", "requires-approval", (BRP, PMO), (DIET,), "DOJ16 Fig II-3-2-4 [assumption: plan must list act]"),
    ("survival-threatening jsdf use-of-force +urgent +in-response-plan", "requires-approval", (NSC, BRP, DIET_PRIOR, PMO), (), "5PARTY; DOJ16 Ref24 note 1"),
    ("survival-threatening asdf use-of-force sup=us-forces +in-response-plan granted=basic-response-plan,diet-prior-approval,prime-minister-order", "permitted", (), (), "DOJ16 Part II Ch3 Sec2 §5"),
    ("anticipated-armed-attack jsdf use-of-force", f"prohibited>{AAS_STS}", (), (), "DOJ16 Ref24 notes; DOJ24 Ch5 §2"),
    ("gray-zone jsdf use-of-force", f"prohibited>{AAS_STS}", (), (), "DOJ16 Part II Ch3 Sec2 (three conditions)"),
    ("important-influence jsdf use-of-force sup=us-forces", f"prohibited>{AAS_STS}", (), (), "DOJ16 Fig II-3-2-2"),
    ("peacetime gsdf use-of-force", f"prohibited>{AAS_STS}", (), (), "DOJ16 Part II Ch3 Sec2 (three conditions)"),
    ("international-peace-joint-response jsdf use-of-force +un-resolution", f"prohibited>{AAS_STS}", (), (), "DOJ16 Fig II-3-2-2 (not defense of a foreign country)"),
    ("armed-attack jcg use-of-force", "prohibited", (), (), "DOJ16 Ref24 (80) [assumption: JCG Act 25]"),
    ("anticipated-armed-attack msdf escort-us-ships sup=us-forces", f"prohibited>{AAS_STS}", (), (), "DOJ16 Ref24 notes"),
    ("peacetime msdf escort-us-ships sup=us-forces", f"prohibited>{AAS_STS}", (), (), "G15 IV.D; DOJ24 Ch5 §8"),
    # Mines: minesweeping in hostilities is force; abandoned mines are 84-2.
    ("peacetime msdf abandoned-mine-removal at=high-seas-distant", "requires-approval", (DMO,), (), "DOJ16 Ref24 (84-2)"),
    ("gray-zone msdf minesweeping at=high-seas-distant", f"prohibited>{AAS_STS}", (), (), "HORMUZ"),
    ("survival-threatening msdf minesweeping at=high-seas-distant +in-response-plan", "requires-approval", (NSC, BRP, DIET_PRIOR, PMO), (), "HORMUZ; 5PARTY"),
    ("peacetime msdf abandoned-mine-removal at=high-seas-distant +combat-ongoing", f"prohibited>{AAS_STS}", (), (), "HORMUZ; DOJ16 Ref24 (84-2)"),
    ("armed-attack msdf minesweeping +in-response-plan +urgent", "requires-approval", (NSC, BRP, PMO), (DIET,), "G15 IV.C.2; ART9"),
    # Important influence situation: support needs a Basic Plan and Diet approval.
    ("important-influence msdf refueling sup=us-forces at=high-seas-distant +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2; DOJ24 Ch5 §4"),
    ("important-influence msdf refueling sup=us-forces +urgent +in-response-plan", "requires-approval", (NSC, BP, PMA, DMO), (DIET,), "DOJ24 Ch5 §4 (ex post in emergency)"),
    ("important-influence jsdf supply sup=us-forces +combat-ongoing +in-response-plan", "prohibited", (), (), "DOJ24 Ch5 §4 (not where combat is conducted)"),
    ("important-influence jsdf supply sup=us-forces at=foreign-territory +in-response-plan", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (consent)"),
    ("important-influence jsdf supply sup=us-forces at=foreign-territory +territorial-consent +in-response-plan granted=basic-plan,diet-approval,prime-minister-approval,defense-minister-order", "permitted", (), (), "DOJ16 Part II Ch3 Sec2"),
    ("important-influence jsdf weapons-provision sup=us-forces", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (no weapons)"),
    ("important-influence jsdf ammunition-provision sup=us-forces +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2 (ammunition new)"),
    ("important-influence msdf ship-inspection +in-response-plan", "prohibited", (), (), "G15 IV.B (UNSCR or other basis)"),
    ("important-influence msdf ship-inspection +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2 (Ship Inspection Act)"),
    ("important-influence jsdf search-and-rescue at=high-seas-near-japan +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ24 Ch5 §4"),
    ("important-influence jsdf supply sup=none +in-response-plan", "prohibited", (), (), "DOJ24 Ch5 §4 (support to U.S. and other forces)"),
    ("important-influence jsdf supply sup=us-forces granted=basic-plan", "requires-approval", (BP, DIET, PMA, DMO), (), "DOJ24 Ch5 §4 [assumption: plan lists measure]"),
    # Joint international peace response: UN resolution, Diet approval prior without exception.
    ("international-peace-joint-response jsdf supply sup=third-country-forces +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2 (IPS Act)"),
    ("international-peace-joint-response jsdf supply sup=third-country-forces +un-resolution +urgent +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, PMA, DMO), (), "DOJ16 §5.2 (prior approval without exception)"),
    ("international-peace-joint-response msdf ship-inspection at=high-seas-distant +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2 (IPS: same menu as IIS)"),
    ("international-peace-joint-response jsdf supply sup=us-forces +in-response-plan", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (UNGA/UNSC resolution)"),
    ("international-peace-joint-response jsdf medical sup=us-forces +un-resolution +combat-ongoing", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (non-combat scene)"),
    # Anticipated and actual armed attack: support to U.S. forces, defensive positions.
    ("anticipated-armed-attack jsdf supply sup=us-forces +in-response-plan", "requires-approval", (NSC, BRP, DMO), (), "DOJ16 Ref24 notes (77-3)"),
    ("anticipated-armed-attack jsdf transportation sup=us-forces +in-response-plan", "requires-approval", (NSC, BRP, DIET, DMO), (), "DOJ16 Ref24 notes (services: Diet via BRP)"),
    ("anticipated-armed-attack gsdf defensive-positions +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMA, DMO), (), "DOJ16 Ref24 notes (77-2)"),
    ("survival-threatening gsdf defensive-positions +in-response-plan", "prohibited>anticipated-armed-attack,armed-attack", (), (), "DOJ16 Ref24 note 1 (not in pure STS)"),
    ("peacetime gsdf defensive-positions", "prohibited>anticipated-armed-attack,armed-attack", (), (), "DOJ16 Ref24 notes (77-2)"),
    ("anticipated-armed-attack jsdf weapons-provision sup=us-forces", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (no weapons)"),
    # Asset protection (95-2).
    ("peacetime msdf asset-protection sup=us-forces at=high-seas-near-japan", "requires-approval", (USR, DMO), (), "DOJ24 Ch5 §8; IZUMO17"),
    ("peacetime msdf asset-protection sup=us-forces +first-request", "requires-approval", (USR, NSC, DMO), (), "DOJ24 Ch5 §8 (first request: NSC)"),
    ("peacetime msdf asset-protection sup=us-forces +first-request +urgent granted=us-request", "requires-approval", (DMO,), (NSC,), "DOJ24 Ch5 §8 (urgent: prompt report)"),
    ("peacetime jsdf asset-protection sup=third-country-forces at=foreign-territory", "requires-approval", (USR, NSC, DMO), (), "DOJ24 Ch5 §8 (territory of a third country)"),
    ("peacetime jsdf asset-protection sup=us-forces +combat-ongoing", "prohibited", (), (), "DOJ24 Ch5 §8 (excludes combat)"),
    ("important-influence jsdf asset-protection sup=us-forces +in-response-plan", "requires-approval", (USR, NSC, BP, DMO), (), "DOJ24 Ch5 §8 (IIS: Basic Plan after NSC)"),
    ("peacetime jsdf asset-protection sup=none", "prohibited", (), (), "DOJ24 Ch5 §8 (units of U.S./other forces)"),
    ("peacetime jsdf asset-protection sup=us-forces granted=us-request,defense-minister-order", "permitted", (), (), "IZUMO17 (DM order, no Diet approval)"),
    # Gray zone: maritime security, public security, airspace.
    ("gray-zone msdf maritime-security-operation", "requires-approval", (CAB, PMA, DMO), (), "DOJ16 Ref24 (82); SUB04"),
    ("gray-zone msdf maritime-security-operation at=high-seas-near-japan +urgent", "requires-approval", (CAB, PMA, DMO), (), "DOJ16 Fig II-3-2-3 (telephone cabinet decision)"),
    ("gray-zone jcg maritime-security-operation", "permitted", (), (), "DOJ16 Fig II-3-2-3 (JCG primary) [assumption]"),
    ("gray-zone gsdf public-security-operation", "requires-approval", (CAB, PMO), (DIET,), "DOJ16 Ref24 (78)"),
    ("gray-zone gsdf public-security-operation granted=cabinet-decision,prime-minister-order", "permitted", (), (DIET,), "DOJ16 Ref24 (78: Diet within 20 days)"),
    ("peacetime asdf airspace-violation-response", "requires-approval", (DMO,), (), "DOJ16 Ref24 (84)"),
    ("peacetime asdf airspace-violation-response at=high-seas-near-japan", "prohibited", (), (), "DOJ24 Ch5 §6 (Japanese airspace)"),
    ("gray-zone us-forces public-security-operation", "prohibited", (), (), "DOJ16 Ref24 (78: an SDF operation)"),
    # Ballistic missile defense.
    ("peacetime msdf bmd-intercept sup=japan at=high-seas-near-japan", "requires-approval", (PMA, DMO), (), "DOJ24 Ch5 §3-4 (82-3)"),
    ("peacetime msdf bmd-intercept sup=japan +urgent", "requires-approval", (DMO,), (), "DOJ24 Ch5 §3-4 (pre-approved procedures)"),
    ("peacetime msdf bmd-intercept sup=us-forces at=high-seas-near-japan", "prohibited>survival-threatening", (), (), "GUAM17"),
    ("survival-threatening msdf bmd-intercept sup=us-forces at=high-seas-near-japan +in-response-plan", "requires-approval", (NSC, BRP, DIET_PRIOR, PMO), (), "GUAM17; 5PARTY"),
    ("armed-attack msdf bmd-intercept sup=japan +urgent +in-response-plan", "requires-approval", (NSC, BRP, PMO), (DIET,), "G15 IV.C.2; ART9"),
    ("gray-zone jsdf bmd-intercept sup=japan at=foreign-territory", "prohibited", (), (), "DOJ24 Ch5 §3-4 (over Japan or high seas)"),
    ("anticipated-armed-attack msdf bmd-intercept sup=japan", "requires-approval", (PMA, DMO), (), "DOJ24 Ch5 §3-4 (not an armed attack)"),
    ("peacetime msdf bmd-intercept sup=none", "prohibited", (), (), "DOJ24 Ch5 §3-4 (objects likely to fall on Japan)"),
    # Nationals abroad.
    ("overseas-emergency asdf noncombatant-evacuation at=foreign-territory", "requires-approval", (FMR, DMO), (), "DOJ24 Ch5 §7 (84-4); AFG21"),
    ("overseas-emergency gsdf armed-rescue-of-nationals at=foreign-territory +territorial-consent", "requires-approval", (FMR, NSC, PMA, DMO), (), "DOJ24 Ch5 §7 (84-3)"),
    ("overseas-emergency gsdf armed-rescue-of-nationals at=foreign-territory", "prohibited", (), (), "DOJ24 Ch5 §7 (host consent)"),
    ("overseas-emergency gsdf armed-rescue-of-nationals at=foreign-territory +territorial-consent +combat-ongoing", "prohibited", (), (), "DOJ24 Ch5 §7 (no acts of combat)"),
    ("overseas-emergency asdf noncombatant-evacuation at=foreign-territory +combat-ongoing", "requires-approval", (FMR, DMO), (), "DOJ24 Ch5 §7 (84-4 has no such limit in the facts)"),
    # Disaster relief.
    ("large-scale-disaster jcg disaster-relief", "permitted", (), (), "G15 IV.E [assumption: JCG Act 2]"),
    ("large-scale-disaster gsdf disaster-relief", "requires-approval", (GOV, DMO), (), "DOJ24 Ch5 §5 (83); NOTO24"),
    ("large-scale-disaster gsdf disaster-relief +urgent", "requires-approval", (DMO,), (), "DOJ24 Ch5 §5 (own initiative)"),
    ("large-scale-disaster gsdf disaster-relief granted=governor-request,defense-minister-order", "permitted", (), (), "DOJ24 Ch5 §5 (no Diet approval)"),
    # Prior consultation (1960 notes).
    ("peacetime us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 item 3"),
    ("important-influence us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 item 3; FRUS38"),
    ("survival-threatening us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 item 3 (STS is not Art. V)"),
    ("armed-attack us-forces combat-operations-from-japan", "permitted", (), (), "EON60 (Art. V excluded)"),
    ("peacetime us-forces major-equipment-change", "requires-approval", (PC,), (), "EON60 item 2; FRUS38"),
    ("armed-attack us-forces major-deployment-change", "requires-approval", (PC,), (), "EON60 item 1"),
    ("peacetime us-forces force-withdrawal", "permitted", (), (), "FRUS38; FRUS57"),
    ("important-influence us-forces logistics-staging-from-japan", "permitted", (), (), "FRUS38; FRUS57 [assumption: Japanese reading U]"),
    ("peacetime us-forces combat-operations-from-japan granted=prior-consultation", "permitted", (), (), "EON60; JC60"),
    ("gray-zone us-forces use-of-force", "requires-approval", (PC,), (), "EON60 item 3 [assumption: launch from Japan]"),
    ("peacetime jsdf combat-operations-from-japan", "prohibited", (), (), "DOJ24 Ch5 [assumption: no legal basis]"),
    # Standing activities.
    ("peacetime jsdf isr at=high-seas-near-japan", "permitted", (), (), "G15 IV.A [assumption: MOD Establishment Act]"),
    ("peacetime jsdf supply sup=us-forces", "requires-approval", (DMO,), (), "DOJ24 Fig III-2-2-1 (ACSA) [assumption]"),
    ("peacetime jsdf ammunition-provision sup=us-forces", "prohibited", (), (), "DOJ24 Ch5 [assumption: no legal basis]"),
]
# fmt: on


def parse(text: str) -> Query:
    """Turn a case's query text into a Query."""
    situation, actor, activity, *rest = text.split()
    fields: dict[str, object] = {"situation": situation, "actor": actor, "activity": activity}
    flags: set[str] = set()
    for token in rest:
        if token.startswith("+"):
            flags.add(token[1:])
        elif token.startswith("sup="):
            fields["supported"] = token[4:]
        elif token.startswith("at="):
            fields["location"] = token[3:]
        elif token.startswith("granted="):
            fields["granted"] = token[8:].split(",")
        else:
            raise ValueError(f"bad token {token!r}")
    fields["flags"] = sorted(flags)
    return Query.from_dict(fields)


@pytest.fixture(scope="module")
def fw() -> FrameworkSet:
    return load_frameworks()


def test_there_are_at_least_sixty_cases_each_with_a_source() -> None:
    assert len(CASES) >= 60
    assert all(source.strip() for *_, source in CASES)
    assert len({c[0] for c in CASES}) == len(CASES), "a query appears twice"


@pytest.mark.parametrize(("query", "outcome", "missing", "after", "source"), CASES, ids=[c[0] for c in CASES])
def test_ruling(
    fw: FrameworkSet, query: str, outcome: str, missing: tuple[str, ...], after: tuple[str, ...], source: str
) -> None:
    q = parse(query)
    expected, _, lawful = outcome.partition(">")
    for ruling in (fw.rule(q), fw.reference(q)):
        assert ruling.outcome is Outcome(expected), f"{source}: {ruling.reasons}"
        assert ruling.missing == missing, source
        assert ruling.after == after, source
        if lawful:
            assert ruling.lawful_under == tuple(lawful.split(",")), source
        assert ruling.citations, source
        if "[assumption" in source:
            assert ruling.assumptions, f"{source}: the ruling should say it rests on an assumption"
