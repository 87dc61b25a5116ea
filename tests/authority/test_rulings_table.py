"""The law, case by case: each row is a query, the ruling the law gives, and the source row that says so.

Row format: `situation[+situation...] actor activity [sup=S] [at=LOCATION] [+flag ...] [granted=a,b]`
(several situations: designations in force together, ruled on their union; a fact not given is left
out, never defaulted), then the outcome (`prohibited>s1,s2` lists the situations under which the act
would be lawful; `needs>f1,f2` means the query is refused until it gives those facts), the missing
approvals in the order they must be obtained, the approvals that may come after acting, and the source:
a key of alliance-facts.md §0 or of the framework's `sources:` table and the row or article (an
[assumption] marks rows resting on an assumed reading).
"""

# ruff: noqa: E501 - the case table keeps one case per line, so each reads with its source row
from __future__ import annotations

import pytest

from kizuna.authority import FrameworkSet, Outcome, Query, load_frameworks
from kizuna.errors import MissingFact

NSC, BRP, BP = "nsc-deliberation", "basic-response-plan", "basic-plan"
BRPA, BPA = "basic-response-plan-amendment", "basic-plan-amendment"
CGR, GSR, IMP, IPC, JCC = (
    "coast-guard-request",
    "governor-security-request",
    "implementation-plan",
    "ipc-hq-request",
    "jcg-control-decision",
)
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
    ("armed-attack jsdf use-of-force +attack-occurred +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMO), (), "DOJ16 Fig II-3-2-4; ART9"),
    ("armed-attack jsdf use-of-force +attack-occurred +urgent +in-response-plan", "requires-approval", (NSC, BRP, PMO), (DIET,), "ART9 (special urgency)"),
    ("armed-attack msdf use-of-force +attack-occurred +in-response-plan granted=basic-response-plan,diet-approval,prime-minister-order", "permitted", (), (), "DOJ16 Ref24 (76)"),
    ("armed-attack jsdf use-of-force +attack-occurred +urgent granted=basic-response-plan", "requires-approval", (BRPA, PMO), (DIET,), "ART9 9(2)(iii): the held plan lacks the order, an amendment [assumption: plan must list act]"),
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
    ("armed-attack msdf minesweeping +attack-occurred +in-response-plan +urgent", "requires-approval", (NSC, BRP, PMO), (DIET,), "G15 IV.C.2; ART9"),
    # Important influence situation: support needs a Basic Plan and Diet approval.
    ("important-influence msdf refueling sup=us-forces at=high-seas-distant +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2; DOJ24 Ch5 §4"),
    ("important-influence msdf refueling sup=us-forces at=high-seas-near-japan +urgent +in-response-plan", "requires-approval", (NSC, BP, PMA, DMO), (DIET,), "DOJ24 Ch5 §4 (ex post in emergency)"),
    ("important-influence jsdf supply sup=us-forces at=japan-territory +combat-ongoing +in-response-plan", "prohibited", (), (), "DOJ24 Ch5 §4 (not where combat is conducted)"),
    ("important-influence jsdf supply sup=us-forces at=foreign-territory +in-response-plan", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (consent)"),
    ("important-influence jsdf supply sup=us-forces at=foreign-territory +territorial-consent +in-response-plan granted=basic-plan,diet-approval,defense-minister-order", "permitted", (), (), "DOJ16 Part II Ch3 Sec2; IIS Act 6(1) (goods: no PM approval)"),
    ("important-influence jsdf weapons-provision sup=us-forces", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (no weapons)"),
    ("important-influence jsdf ammunition-provision sup=us-forces at=japan-territory +in-response-plan", "requires-approval", (NSC, BP, DIET, DMO), (), "DOJ16 Part II Ch3 Sec2 (ammunition new); IIS Act 6(1) (goods)"),
    ("important-influence msdf ship-inspection at=high-seas-near-japan +in-response-plan", "prohibited", (), (), "G15 IV.B (UNSCR or other basis)"),
    ("important-influence msdf ship-inspection at=high-seas-near-japan +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2 (Ship Inspection Act)"),
    ("important-influence jsdf search-and-rescue at=high-seas-near-japan +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "DOJ24 Ch5 §4"),
    ("important-influence jsdf supply sup=none at=japan-territory +in-response-plan", "prohibited", (), (), "DOJ24 Ch5 §4 (support to U.S. and other forces)"),
    ("important-influence jsdf supply sup=us-forces at=japan-territory granted=basic-plan", "requires-approval", (BPA, DIET, DMO), (), "DOJ24 Ch5 §4; IIS Act 4, 6(1) [assumption: plan lists measure]"),
    # Joint international peace response: UN resolution, Diet approval prior without exception.
    ("international-peace-joint-response jsdf supply sup=third-country-forces at=high-seas-distant +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, DMO), (), "DOJ16 Part II Ch3 Sec2 (IPS Act 7(1): goods)"),
    ("international-peace-joint-response jsdf transportation sup=third-country-forces at=high-seas-distant +un-resolution +urgent +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, PMA, DMO), (), "DOJ16 §5.2 (prior approval without exception); IPS Act 7(2) (services)"),
    ("international-peace-joint-response msdf ship-inspection at=high-seas-distant +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, PMA, DMO), (), "DOJ16 Part II Ch3 Sec2 (IPS: same menu as IIS)"),
    ("international-peace-joint-response jsdf supply sup=us-forces at=high-seas-distant +in-response-plan", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (UNGA/UNSC resolution)"),
    ("international-peace-joint-response jsdf medical sup=us-forces at=high-seas-distant +un-resolution +combat-ongoing", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (non-combat scene)"),
    # Anticipated and actual armed attack: support to U.S. forces, defensive positions.
    ("anticipated-armed-attack jsdf supply sup=us-forces +in-response-plan", "requires-approval", (NSC, BRP, DMO), (), "DOJ16 Ref24 notes (77-3)"),
    ("anticipated-armed-attack jsdf transportation sup=us-forces +in-response-plan", "requires-approval", (NSC, BRP, PMA, DMO), (DIET,), "IURIS Measures Act 10(3) (PM approval); ART9 (Diet approves the plan after)"),
    ("anticipated-armed-attack gsdf defensive-positions at=japan-territory +in-response-plan", "requires-approval", (NSC, BRP, PMA, DMO), (DIET,), "DOJ16 Ref24 notes (77-2); WP21 (Diet after the plan's cabinet decision)"),
    ("survival-threatening gsdf defensive-positions at=japan-territory +in-response-plan", "prohibited>anticipated-armed-attack,armed-attack", (), (), "DOJ16 Ref24 note 1 (not in pure STS)"),
    ("peacetime gsdf defensive-positions at=japan-territory", "prohibited>anticipated-armed-attack,armed-attack", (), (), "DOJ16 Ref24 notes (77-2)"),
    ("anticipated-armed-attack jsdf weapons-provision sup=us-forces", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (no weapons)"),
    # Asset protection (95-2).
    ("peacetime msdf asset-protection sup=us-forces at=high-seas-near-japan", "requires-approval", (USR, DMO), (), "DOJ24 Ch5 §8; IZUMO17"),
    ("peacetime msdf asset-protection sup=us-forces at=high-seas-near-japan +first-request", "requires-approval", (USR, NSC, DMO), (), "DOJ24 Ch5 §8 (first request: NSC)"),
    ("peacetime msdf asset-protection sup=us-forces at=high-seas-near-japan +first-request +urgent granted=us-request", "requires-approval", (DMO,), (NSC,), "DOJ24 Ch5 §8 (urgent: prompt report)"),
    ("peacetime jsdf asset-protection sup=third-country-forces at=foreign-territory", "requires-approval", (USR, NSC, DMO), (), "DOJ24 Ch5 §8 (territory of a third country)"),
    ("peacetime jsdf asset-protection sup=us-forces +combat-ongoing", "prohibited", (), (), "DOJ24 Ch5 §8 (excludes combat)"),
    ("important-influence jsdf asset-protection sup=us-forces at=high-seas-near-japan +in-response-plan", "requires-approval", (USR, NSC, BP, DMO), (), "DOJ24 Ch5 §8 (IIS: Basic Plan after NSC)"),
    ("peacetime jsdf asset-protection sup=none", "prohibited", (), (), "DOJ24 Ch5 §8 (units of U.S./other forces)"),
    ("peacetime jsdf asset-protection sup=us-forces at=high-seas-near-japan granted=us-request,defense-minister-order", "permitted", (), (), "IZUMO17 (DM order, no Diet approval)"),
    # Gray zone: maritime security, public security, airspace.
    ("gray-zone msdf maritime-security-operation at=japan-territory", "requires-approval", (CAB, PMA, DMO), (), "DOJ16 Ref24 (82); SUB04"),
    ("gray-zone msdf maritime-security-operation at=high-seas-near-japan +urgent", "requires-approval", (CAB, PMA, DMO), (), "DOJ16 Fig II-3-2-3 (telephone cabinet decision)"),
    ("gray-zone jcg maritime-security-operation at=japan-territory", "permitted", (), (), "DOJ16 Fig II-3-2-3 (JCG primary) [assumption]"),
    ("gray-zone gsdf public-security-operation at=japan-territory", "requires-approval", (CAB, PMO), (DIET,), "DOJ16 Ref24 (78)"),
    ("gray-zone gsdf public-security-operation at=japan-territory granted=cabinet-decision,prime-minister-order", "permitted", (), (DIET,), "DOJ16 Ref24 (78: Diet within 20 days)"),
    ("peacetime asdf airspace-violation-response at=japan-territory", "requires-approval", (DMO,), (), "DOJ16 Ref24 (84)"),
    ("peacetime asdf airspace-violation-response at=high-seas-near-japan", "prohibited", (), (), "DOJ24 Ch5 §6 (Japanese airspace)"),
    ("gray-zone us-forces public-security-operation", "prohibited", (), (), "DOJ16 Ref24 (78: an SDF operation)"),
    # Ballistic missile defense.
    ("peacetime msdf bmd-intercept sup=japan at=high-seas-near-japan", "requires-approval", (PMA, DMO), (), "DOJ24 Ch5 §3-4 (82-3)"),
    ("peacetime msdf bmd-intercept sup=japan at=japan-territory +urgent", "requires-approval", (DMO,), (), "DOJ24 Ch5 §3-4 (pre-approved procedures)"),
    ("peacetime msdf bmd-intercept sup=us-forces at=high-seas-near-japan", "prohibited>survival-threatening", (), (), "GUAM17"),
    ("survival-threatening msdf bmd-intercept sup=us-forces at=high-seas-near-japan +in-response-plan", "requires-approval", (NSC, BRP, DIET_PRIOR, PMO), (), "GUAM17; 5PARTY"),
    ("armed-attack msdf bmd-intercept sup=japan at=high-seas-near-japan +attack-occurred +urgent +in-response-plan", "requires-approval", (NSC, BRP, PMO), (DIET,), "G15 IV.C.2; ART9"),
    ("gray-zone jsdf bmd-intercept sup=japan at=foreign-territory", "prohibited", (), (), "DOJ24 Ch5 §3-4 (over Japan or high seas)"),
    ("anticipated-armed-attack msdf bmd-intercept sup=japan at=high-seas-near-japan", "requires-approval", (PMA, DMO), (), "DOJ24 Ch5 §3-4 (not an armed attack)"),
    ("peacetime msdf bmd-intercept sup=none", "prohibited", (), (), "DOJ24 Ch5 §3-4 (objects likely to fall on Japan)"),
    # Nationals abroad.
    ("overseas-emergency asdf noncombatant-evacuation at=foreign-territory", "requires-approval", (FMR, DMO), (), "DOJ24 Ch5 §7 (84-4); AFG21"),
    ("overseas-emergency gsdf armed-rescue-of-nationals at=foreign-territory +territorial-consent", "requires-approval", (FMR, NSC, PMA, DMO), (), "DOJ24 Ch5 §7 (84-3)"),
    ("overseas-emergency gsdf armed-rescue-of-nationals at=foreign-territory", "prohibited", (), (), "DOJ24 Ch5 §7 (host consent)"),
    ("overseas-emergency gsdf armed-rescue-of-nationals at=foreign-territory +territorial-consent +combat-ongoing", "prohibited", (), (), "DOJ24 Ch5 §7 (no acts of combat)"),
    ("overseas-emergency asdf noncombatant-evacuation at=foreign-territory +combat-ongoing", "requires-approval", (FMR, DMO), (), "DOJ24 Ch5 §7 (84-4 has no such limit in the facts)"),
    # Disaster relief.
    ("large-scale-disaster jcg disaster-relief at=japan-territory", "permitted", (), (), "G15 IV.E [assumption: JCG Act 2]"),
    ("large-scale-disaster gsdf disaster-relief at=japan-territory", "requires-approval", (GOV, DMO), (), "DOJ24 Ch5 §5 (83); NOTO24"),
    ("large-scale-disaster gsdf disaster-relief at=japan-territory +urgent", "requires-approval", (DMO,), (), "DOJ24 Ch5 §5 (own initiative)"),
    ("large-scale-disaster gsdf disaster-relief at=japan-territory granted=governor-request,defense-minister-order", "permitted", (), (), "DOJ24 Ch5 §5 (no Diet approval)"),
    # Prior consultation (1960 notes).
    ("peacetime us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 item 3"),
    ("important-influence us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 item 3; FRUS38"),
    ("survival-threatening us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 item 3 (STS is not Art. V)"),
    ("armed-attack us-forces combat-operations-from-japan +attack-occurred", "permitted", (), (), "EON60 (Art. V excluded)"),
    ("armed-attack us-forces combat-operations-from-japan", "requires-approval", (PC,), (), "EON60 Art. V needs an actual attack; DOJ24 Key Word (AAS includes imminent danger)"),
    ("peacetime us-forces major-equipment-change", "requires-approval", (PC,), (), "EON60 item 2; FRUS38"),
    ("armed-attack us-forces major-deployment-change", "requires-approval", (PC,), (), "EON60 item 1"),
    ("peacetime us-forces force-withdrawal", "permitted", (), (), "FRUS38; FRUS57"),
    ("important-influence us-forces logistics-staging-from-japan", "permitted", (), (), "FRUS38; FRUS57 [assumption: Japanese reading U]"),
    ("peacetime us-forces combat-operations-from-japan granted=prior-consultation", "permitted", (), (), "EON60; JC60"),
    ("gray-zone us-forces use-of-force at=japan-territory", "requires-approval", (PC,), (), "EON60 item 3 [assumption: launch from Japan]"),
    ("peacetime jsdf combat-operations-from-japan", "prohibited", (), (), "DOJ24 Ch5 [assumption: no legal basis]"),
    # Issue 8 item 1: a granted plan and order are never missing; a plan held that does not list the act needs its amendment.
    ("armed-attack jsdf use-of-force +attack-occurred granted=basic-response-plan,prime-minister-order", "requires-approval", (DIET,), (), "ART9 9(2)(iii), 9(4): the order is part of the plan; SDF Act 76, 88 [assumption: plan must list act]"),
    ("armed-attack jsdf use-of-force +attack-occurred +urgent granted=basic-response-plan,prime-minister-order", "permitted", (), (DIET,), "ART9 9(4) (special urgency); SDF Act 88 [assumption: plan must list act]"),
    ("survival-threatening msdf escort-us-ships sup=us-forces granted=basic-response-plan,diet-prior-approval,prime-minister-order", "permitted", (), (), "DOJ16 Ref24 note 1 (76(1)(ii)); ART9 9(2)(iii) [assumption: plan must list act]"),
    ("survival-threatening msdf bmd-intercept sup=us-forces at=high-seas-near-japan granted=basic-response-plan,diet-prior-approval,prime-minister-order", "permitted", (), (), "GUAM17; ART9 9(2)(iii) [assumption: plan must list act]"),
    ("armed-attack msdf minesweeping at=high-seas-near-japan +attack-occurred granted=basic-response-plan", "requires-approval", (BRPA, DIET, PMO), (), "ART9 9(2)(iii): amend the held plan to add the order [assumption: plan must list act]"),
    ("armed-attack jsdf supply sup=us-forces granted=basic-response-plan", "requires-approval", (BRPA, DMO), (), "IURIS Measures Act 10(1); ART9 9(2)(iii) [assumption: plan must list act]"),
    ("armed-attack jsdf supply sup=us-forces granted=basic-response-plan,defense-minister-order", "permitted", (), (), "IURIS Measures Act 10(1): the order shows the plan lists it [assumption: plan must list act]"),
    ("important-influence jsdf asset-protection sup=us-forces at=high-seas-near-japan granted=basic-plan,us-request", "requires-approval", (BPA, DMO), (), "DOJ24 Ch5 §8 (IIS: the plan must state the need)"),
    # Item 2: goods by the Defense Minister under the plan; the PM approves implementation guidelines for services only.
    ("international-peace-joint-response jsdf ammunition-provision sup=third-country-forces at=high-seas-distant +un-resolution +in-response-plan", "requires-approval", (NSC, BP, DIET_PRIOR, DMO), (), "IPS Act 7(1) (goods) [DOJ16 Part II Ch3 Sec2]"),
    ("important-influence msdf medical sup=us-forces at=high-seas-near-japan +in-response-plan", "requires-approval", (NSC, BP, DIET, PMA, DMO), (), "IIS Act 6(2) (services) [DOJ24 Ch5 §4]"),
    # Item 3: services in AAS/STS - units under a defense-operation order give them (10(2)); others on the DM's order with PM approval (10(3)).
    ("armed-attack jsdf transportation sup=us-forces +in-response-plan", "requires-approval", (NSC, BRP, PMA, DMO), (DIET,), "IURIS Measures Act 10(3)"),
    ("armed-attack msdf refueling sup=us-forces +under-defense-order +in-response-plan granted=basic-response-plan", "permitted", (), (DIET,), "IURIS Measures Act 10(2)"),
    ("survival-threatening jsdf medical sup=third-country-forces +in-response-plan", "requires-approval", (NSC, BRP, PMA, DMO), (DIET,), "IURIS Measures Act 10(3) (other countries' forces in an STS)"),
    # Item 4: the plan is in force on the cabinet decision; the Diet approves it after (only the defense-operation order is prior in principle).
    ("armed-attack gsdf defensive-positions at=japan-territory +in-response-plan granted=basic-response-plan,prime-minister-approval,defense-minister-order", "permitted", (), (DIET,), "ART9 (9: Diet at once, measures stop on rejection); WP21 (77-2)"),
    # Item 5: several designations in force - ruled on their union.
    ("armed-attack+survival-threatening msdf bmd-intercept sup=us-forces at=high-seas-near-japan +attack-occurred +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMO), (), "DOJ16 Ref24 note 1 (76(1)(ii)); 5PARTY (no-exception rule only for STS alone); ART9 9(4)"),
    ("armed-attack+survival-threatening msdf bmd-intercept sup=us-forces at=high-seas-near-japan +attack-occurred +urgent +in-response-plan", "requires-approval", (NSC, BRP, PMO), (DIET,), "ART9 9(4) (special urgency); 5PARTY"),
    ("armed-attack msdf bmd-intercept sup=us-forces at=high-seas-near-japan +attack-occurred +in-response-plan", "prohibited>survival-threatening", (), (), "GUAM17 (a Guam-bound missile needs an STS)"),
    ("anticipated-armed-attack+survival-threatening msdf escort-us-ships sup=us-forces +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMO), (), "5PARTY (STS also AAAS: statute applies); ART9 9(4)"),
    ("armed-attack+survival-threatening jsdf use-of-force +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMO), (), "DOJ16 Ref24 note 1 (76(1)(ii) needs no attack on Japan); 5PARTY"),
    ("important-influence+international-peace-joint-response jsdf supply sup=us-forces at=high-seas-near-japan +in-response-plan", "requires-approval", (NSC, BP, DIET, DMO), (), "DOJ24 Ch5 §4 (IIS support needs no UN resolution)"),
    ("gray-zone+important-influence jsdf use-of-force", f"prohibited>{AAS_STS}", (), (), "DOJ16 Part II Ch3 Sec2 (three conditions)"),
    # Item 6: ship inspection in AAS/STS under the Maritime Transportation Restriction Act, no UN resolution.
    ("armed-attack msdf ship-inspection at=high-seas-near-japan +under-defense-order +in-response-plan", "requires-approval", (NSC, BRP, PMA, DMO), (), "Maritime Transportation Restriction Act 4; G15 IV.C.2, IV.D [assumption: Art. 4 procedure]"),
    ("survival-threatening msdf ship-inspection at=japan-territory +in-response-plan", "prohibited", (), (), "Maritime Transportation Restriction Act 4 (units in a defense operation)"),
    ("armed-attack gsdf ship-inspection at=japan-territory +under-defense-order +in-response-plan", "prohibited", (), (), "Maritime Transportation Restriction Act 4 (MSDF units)"),
    # Item 7: mine removal is the MSDF's (84-2).
    ("peacetime gsdf abandoned-mine-removal at=high-seas-near-japan", "prohibited", (), (), "DOJ16 Ref24 (84-2: MSDF)"),
    ("peacetime jsdf abandoned-mine-removal at=high-seas-near-japan", "requires-approval", (DMO,), (), "DOJ16 Ref24 (84-2)"),
    # Item 8: disaster relief at sea, on a Coast Guard commander's request.
    ("large-scale-disaster msdf disaster-relief at=high-seas-near-japan", "requires-approval", (CGR, DMO), (), "DOJ24 Ch5 §5 (83); Enforcement Order 105 [assumption]"),
    ("peacetime asdf disaster-relief at=high-seas-distant granted=coast-guard-request", "requires-approval", (DMO,), (), "DOJ24 Ch5 §5 (83 has no territorial limit) [assumption]"),
    ("large-scale-disaster msdf disaster-relief at=japan-territory granted=coast-guard-request", "requires-approval", (DMO,), (), "DOJ24 Ch5 §5; Enforcement Order 105 (JCG requester in the territorial sea)"),
    ("peacetime gsdf disaster-relief at=foreign-territory", "prohibited", (), (), "DOJ24 Ch5 §5 (abroad: International Disaster Relief Law) [assumption]"),
    # Item 9: public security operation on a governor's request (81): no Diet approval.
    ("gray-zone gsdf public-security-operation-on-request at=japan-territory", "requires-approval", (GSR, PMO), (), "IURIS SDF Act 81; WP22 [assumption: no cabinet step]"),
    # Item 10: ACSA support only at the supported force's request (100-6).
    ("peacetime jsdf supply sup=us-forces granted=us-request,defense-minister-order", "permitted", (), (), "ACSA100 (100-6) [assumption]"),
    # Item 11: guarding, anti-piracy, own assets, JCG under control, standby, pre-deployment ISR, peacekeeping.
    ("peacetime gsdf guarding-operation sup=us-forces at=japan-territory", "requires-approval", (PMO,), (), "DOJ16 Ref24 (81-2)"),
    ("peacetime gsdf guarding-operation sup=third-country-forces at=japan-territory", "prohibited", (), (), "DOJ16 Ref24 (81-2: SDF and U.S. facilities)"),
    ("peacetime msdf anti-piracy-operation at=high-seas-distant", "requires-approval", (PMA, DMO), (), "IURIS Anti-Piracy Act 7; WP22 (82-2)"),
    ("peacetime msdf anti-piracy-operation at=foreign-territory", "prohibited", (), (), "IURIS Anti-Piracy Act 2 [assumption]"),
    ("peacetime jcg anti-piracy-operation at=high-seas-distant", "permitted", (), (), "IURIS Anti-Piracy Act 5"),
    ("armed-attack gsdf own-asset-protection", "permitted", (), (), "DOJ16 Ref25 (95)"),
    ("armed-attack jcg operate-under-mod-control", "requires-approval", (PMO, JCC), (), "DOJ16 Ref24 (80)"),
    ("anticipated-armed-attack gsdf defense-operation-standby +in-response-plan", "requires-approval", (NSC, BRP, PMA, DMO), (), "DOJ16 Ref24 (77); ART9 9(3)"),
    ("peacetime gsdf defense-operation-standby", "prohibited>important-influence,anticipated-armed-attack,armed-attack,survival-threatening", (), (), "DOJ16 Ref24 (77: a defense-operation order is expected)"),
    ("anticipated-armed-attack gsdf pre-deployment-information-gathering at=japan-territory", "requires-approval", (PMA, DMO), (), "DOJ16 Ref24 (79-2) [assumption]"),
    ("international-peace-cooperation gsdf safety-ensuring-operation at=foreign-territory +ceasefire-agreement +territorial-consent +consent-stable", "requires-approval", (NSC, IMP, DIET, IPC, DMO), (), "DOJ16 Part II Ch3 Sec2 §4 (IPC Act)"),
    ("international-peace-cooperation gsdf ceasefire-monitoring at=foreign-territory +ceasefire-agreement +territorial-consent +diet-not-in-session", "requires-approval", (IMP, IPC, DMO), (DIET,), "DOJ16 Part II Ch3 Sec2 §4 (Diet after when not in session)"),
    ("international-peace-cooperation gsdf peacekeeping-operation at=foreign-territory +ceasefire-agreement +territorial-consent", "requires-approval", (IMP, IPC, DMO), (), "DOJ16 Part II Ch3 Sec2 §4 (IPC Act)"),
    ("international-peace-cooperation gsdf coming-to-aid at=foreign-territory +ceasefire-agreement +territorial-consent", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 §4 (consent stably maintained)"),
    ("peacetime gsdf peacekeeping-operation at=foreign-territory", "prohibited>international-peace-cooperation", (), (), "DOJ16 Part II Ch3 Sec2 §4"),
    # Item 12: Art. V needs an actual armed attack; force by the SDF too (three conditions), though the order may come first.
    ("armed-attack jsdf use-of-force +in-response-plan", "prohibited", (), (), "DOJ16 Part II Ch3 Sec2 (three conditions: an attack occurs); DOJ24 Key Word"),
    ("armed-attack gsdf defense-operation +in-response-plan", "requires-approval", (NSC, BRP, DIET, PMO), (), "DOJ16 Ref24 (76: ordered at imminent danger)"),
    ("armed-attack us-forces use-of-force at=japan-territory", "requires-approval", (PC,), (), "EON60 (Art. V needs the attack) [assumption: launch from Japan]"),
    ("armed-attack us-forces use-of-force at=japan-territory +attack-occurred", "permitted", (), (), "EON60 (Art. V)"),
    # Item 13: a fact the ruling depends on, left out, is asked for.
    ("important-influence msdf refueling", "needs>supported,location", (), (), "no default decides the law (issue 8 item 13)"),
    ("important-influence msdf refueling sup=us-forces", "needs>location", (), (), "no default decides the law"),
    ("peacetime jsdf isr", "needs>location", (), (), "G15 IV.A (consent abroad) [assumption]"),
    # Standing activities.
    ("peacetime jsdf isr at=high-seas-near-japan", "permitted", (), (), "G15 IV.A [assumption: MOD Establishment Act]"),
    ("peacetime jsdf supply sup=us-forces", "requires-approval", (USR, DMO), (), "ACSA100 (100-6: at the U.S. forces' request); DOJ24 Fig III-2-2-1 [assumption]"),
    ("peacetime jsdf ammunition-provision sup=us-forces", "prohibited", (), (), "DOJ24 Ch5 [assumption: no legal basis]"),
]
# fmt: on


def parse(text: str) -> Query:
    """Turn a case's query text into a Query."""
    situation, actor, activity, *rest = text.split()
    fields: dict[str, object] = {"situation": situation.split("+"), "actor": actor, "activity": activity}
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


def test_there_are_at_least_a_hundred_cases_each_with_a_source() -> None:
    assert len(CASES) >= 100
    assert all(source.strip() for *_, source in CASES)
    assert len({c[0] for c in CASES}) == len(CASES), "a query appears twice"


@pytest.mark.parametrize(("query", "outcome", "missing", "after", "source"), CASES, ids=[c[0] for c in CASES])
def test_ruling(
    fw: FrameworkSet, query: str, outcome: str, missing: tuple[str, ...], after: tuple[str, ...], source: str
) -> None:
    q = parse(query)
    expected, _, lawful = outcome.partition(">")
    if expected == "needs":
        for evaluate in (fw.rule, fw.reference):
            with pytest.raises(MissingFact) as info:
                evaluate(q)
            assert info.value.fields == tuple(lawful.split(",")), source
        return
    for ruling in (fw.rule(q), fw.reference(q)):
        assert ruling.outcome is Outcome(expected), f"{source}: {ruling.reasons}"
        assert ruling.missing == missing, source
        assert ruling.after == after, source
        if lawful:
            assert ruling.lawful_under == tuple(lawful.split(",")), source
        assert ruling.citations, source
        if "[assumption" in source:
            assert ruling.assumptions, f"{source}: the ruling should say it rests on an assumption"
