"""Compile a request, through the law and the structure, into a DecisionPath.

The path is built in four phases, each a chain of steps at organizations of the structure:

1. **Filing.** The requester files the request (default: the executor's operational commander). A
   requester that holds no operational control (an administrative headquarters) first passes the request
   to the nearest superior that does.
2. **Approvals.** The ruling's missing approvals, in the law's order. Each sits at the organization that
   grants it in this structure (`Organization.grants`). The request travels to it along the structure's
   coordination route (`kizuna.model.queries.coordination_route`), one `coordinate` step per body it
   passes. A request from one nation to the other nation's government travels the diplomatic channel: the
   requesting nation's embassy, then on to the government. Approvals given by a collective body (a
   government, council or legislature) are drafted first by the staff that supports it (the Cabinet
   Secretariat drafts the basic response plan), once per path.
3. **Order.** The decision goes down the executor's chain of command, one `order` step per command
   between the last approver and the executor. If the last approver is not in that chain (the other
   nation's government answered a consultation), the answer travels back to the requester first.
4. **Execution.** The executor acts: the time of effect. Approvals the law lets come after acting (the
   ruling's `after`) branch off the decision as `after_effect` steps that the effect does not wait for.

A request that `designates` a situation compiles the designation procedure (`kizuna.planning.procedures`)
the same way: drafting, NSC deliberation, cabinet decision, Diet approval. A prohibited act compiles into
a one-step path with `prohibited=True` and the ruling's reasons as notes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kizuna.authority import FrameworkSet, Query, Ruling, rule
from kizuna.errors import InvalidQuery, NotFound, UnknownId
from kizuna.model.ids import BILATERAL
from kizuna.model.queries import (
    chain_of_command,
    coordination_route,
    operational_authority,
    relay_phrase,
    route_graph,
)
from kizuna.model.request import RequestSpec
from kizuna.model.structure import Organization, OrgKind, Relation, RelationKind, Structure
from kizuna.planning.path import DecisionPath, Step, StepKind
from kizuna.planning.procedures import find_designation

#: Organization kinds whose approvals are collective decisions, drafted first by a supporting staff.
COLLECTIVE = frozenset({OrgKind.GOVERNMENT, OrgKind.COUNCIL, OrgKind.LEGISLATURE})


@dataclass
class _Builder:
    """Accumulates the steps of one path, giving each a unique, readable id."""

    structure: Structure
    steps: list[Step] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    drafted: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    #: Organizations a request passed on the way out that its answer passes again (embassy, ministry).
    channel: list[str] = field(default_factory=list)

    def add(
        self,
        org: str,
        kind: StepKind,
        label: str,
        after: Iterable[str],
        *,
        approval: str | None = None,
        after_effect: bool = False,
        citations: Iterable[str] = (),
        verb: str | None = None,
    ) -> str:
        base = f"{verb or kind.value}-{org}"
        self.counts[base] = self.counts.get(base, 0) + 1
        step_id = base if self.counts[base] == 1 else f"{base}-{self.counts[base]}"
        self.steps.append(
            Step(
                id=step_id,
                organization=org,
                kind=kind,
                label=label,
                predecessors=tuple(dict.fromkeys(after)),
                approval=approval,
                after_effect=after_effect,
                citations=tuple(dict.fromkeys(c for c in citations if c)),
            )
        )
        return step_id

    def name(self, org: str) -> str:
        return self.structure.org(org).name

    def travel(self, start: str, end: str, last: str, *, purpose: str, after_effect: bool = False) -> str:
        """Add a `coordinate` step at every body between `start` and `end` (both excluded)."""
        if start == end:
            return last
        hops = relay_route(self.structure, start, end)
        if hops is None:
            note = (
                f"No relation of {self.structure.id} connects {start} and {end}; the {purpose} is assumed "
                "to pass directly."
            )
            if note not in self.notes:
                self.notes.append(note)
            return last
        for (previous, _), (org, relation) in itertools.pairwise(hops[:-1]):
            how = relay_phrase(relation.kind, relation.to == org, self.name(previous)) if relation else ""
            last = self.add(
                org,
                StepKind.COORDINATE,
                f"{self.name(org)} receives the {purpose} {how} and passes it on".replace("  ", " "),
                [last],
                after_effect=after_effect,
                citations=_relation_sources(relation),
                verb="relay",
            )
        return last


#: Extra cost of passing a request *through* an organization of these kinds: a council or legislature
#: meets to decide and a unit acts, so neither relays staff traffic between other bodies; a head of
#: government (kind `government`) does pass matters to the cabinet, at a smaller cost.
RELAY_PENALTY: dict[OrgKind, float] = {
    OrgKind.GOVERNMENT: 2.0,
    OrgKind.COUNCIL: 3.0,
    OrgKind.LEGISLATURE: 3.0,
    OrgKind.UNIT: 3.0,
}

#: Extra cost of leaving national channels on a route between two organizations of one nation: a
#: national matter passes through a bilateral body only when the national route is much longer.
NATIONAL_DETOUR = 4.0


def relay_route(structure: Structure, a: str, b: str) -> list[tuple[str, Relation | None]] | None:
    """Return the organizations a request passes from `a` to `b`, each with the relation that led there.

    The route is `kizuna.model.queries.coordination_route`'s weighted graph with two changes: passing
    through a deciding body or a unit costs `RELAY_PENALTY` more, so that staff traffic is not routed
    through a cabinet meeting or a regiment when a staff or coordination body connects the two; and between
    two organizations of one nation, passing through a bilateral body or the other nation costs
    `NATIONAL_DETOUR` more, so a national matter stays in national channels unless they are much longer.
    None when no relation connects them.
    """
    import networkx as nx

    graph = route_graph(structure)
    kinds = {o.id: o.kind for o in structure.organizations}
    nations = {o.id: o.nation for o in structure.organizations}
    national = nations[a] == nations[b] != BILATERAL

    def weight(_u: str, v: str, data: dict[str, object]) -> float:
        base = float(data["weight"])  # type: ignore[arg-type]
        if v not in (a, b):
            base += RELAY_PENALTY.get(kinds[v], 0.0)
            if national and nations[v] != nations[a]:
                base += NATIONAL_DETOUR
        return base

    try:
        path: list[str] = nx.dijkstra_path(graph, a, b, weight=weight)
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None
    out: list[tuple[str, Relation | None]] = [(a, None)]
    for prev, org in itertools.pairwise(path):
        out.append((org, graph.edges[prev, org]["relation"]))
    return out


def _relation_sources(relation: Relation | None) -> tuple[str, ...]:
    return relation.source if relation is not None else ()


def compile_request(structure: Structure, frameworks: FrameworkSet, request: RequestSpec) -> DecisionPath:
    """Compile a request into the DecisionPath it takes in `structure` under `frameworks`.

    Raises:
        UnknownId: an organization, situation, activity or approval id is not defined.
        MissingFact: the request leaves out a fact (`supported`, `location`) its ruling depends on.
        InvalidQuery: the request cannot be placed in the structure (no executor, no organization grants
            a missing approval, or no route reaches it).
    """
    if request.designates is not None:
        return _compile_designation(structure, frameworks, request)
    assert request.actor is not None  # RequestSpec guarantees actor and activity without `designates`
    assert request.activity is not None
    query = Query(
        situations=request.situations,
        actor=request.actor,
        activity=request.activity,
        supported=request.supported,
        location=request.location,
        flags=frozenset(request.flags),
        granted=frozenset(request.granted),
    )
    ruling = rule(frameworks, query)
    executor = _executor(structure, request)
    requester = _requester(structure, request, executor)
    b = _Builder(structure)
    ruling_citations = [str(c) for c in ruling.citations]
    label = request.name or f"{request.actor} {request.activity} ({' + '.join(request.situations)})"
    filed = b.add(
        requester,
        StepKind.COORDINATE,
        f"{b.name(requester)} files the request: {label}",
        [],
        citations=ruling_citations,
        verb="file",
    )
    if ruling.prohibited:
        lawful = f" Lawful under: {', '.join(ruling.lawful_under)}." if ruling.lawful_under else ""
        return DecisionPath(
            request=request.id,
            structure=structure.id,
            steps=tuple(b.steps),
            decision_step=filed,
            effect_step=filed,
            prohibited=True,
            notes=(f"Prohibited: {' '.join(ruling.reasons)}{lawful}",),
        )
    center = tactical_center(structure, requester, executor)
    if center is not None:
        if not ruling.missing:
            return _compile_tactical(
                b, frameworks, request, ruling, center=center, executor=executor, label=label
            )
        b.notes.append(_not_tactical_note(center, ruling))
    pos, last = requester, filed
    pos, last = _endorse(b, requester, last)
    pos, last = _approvals(b, frameworks, ruling.missing, pos, last, requester=requester)
    decision = last
    decided = bool(ruling.missing)
    pos, last = _order(b, pos, last, executor=executor, requester=requester, decided=decided)
    if not decided:
        # nothing to approve: the decision is the executor's command taking the request on
        decision = next((s.id for s in b.steps if s.id.startswith("receive-")), decision)
    effect = b.add(
        executor,
        StepKind.EXECUTE,
        f"{b.name(executor)} carries out: {label}",
        [last],
        citations=ruling_citations,
        verb="execute",
    )
    decision_org = b.steps[[s.id for s in b.steps].index(decision)].organization
    _after(b, frameworks, ruling.after, decision_org, decision, requester=requester)
    notes: tuple[str, ...] = tuple(f"Assumed reading: {a}" for a in ruling.assumptions)
    if ruling.after:
        notes += (f"After acting: {', '.join(ruling.after)} (the effect does not wait for it).",)
    notes += tuple(b.notes)
    return DecisionPath(
        request=request.id,
        structure=structure.id,
        steps=tuple(b.steps),
        decision_step=decision,
        effect_step=effect,
        notes=notes,
    )


#: The role (in `grants:`) of a joint tactical coordination center: it tasks a member unit for another
#: member at the tactical level, where the law already permits the act.
TACTICAL_TASKING = "tactical-tasking"


def tactical_center(structure: Structure, requester: str, executor: str) -> Organization | None:
    """Return the tactical coordination center a request between two units of different nations takes.

    A center is an organization that grants `tactical-tasking`; the request takes it when the requester
    and the executor are both members of it (`member-of`) and belong to different nations. None when no
    center joins them (the request goes up the chains of command as usual).
    """
    if requester == executor:
        return None
    nations = {structure.org(requester).nation, structure.org(executor).nation}
    if len(nations) < 2 or BILATERAL in nations:
        return None
    for center in structure.granters(TACTICAL_TASKING):
        members = {
            r.from_ for r in structure.relations if r.kind is RelationKind.MEMBER_OF and r.to == center.id
        }
        if {requester, executor} <= members:
            return center
    return None


def _not_tactical_note(center: Organization, ruling: Ruling) -> str:
    rules = ", ".join(ruling.rule_ids) or "(none)"
    cited = "; ".join(str(c) for c in ruling.citations) or "(none)"
    return (
        f"Not through {center.id}: the law requires {', '.join(ruling.missing)} before acting "
        f"(rules {rules}; {cited}), and a tactical route never skips an approval, so the request goes up "
        "the chains of command."
    )


def _compile_tactical(
    b: _Builder,
    frameworks: FrameworkSet,
    request: RequestSpec,
    ruling: Ruling,
    *,
    center: Organization,
    executor: str,
    label: str,
) -> DecisionPath:
    """The tactical route: the requester files, the center tasks the executor, the executor acts.

    Taken only when the ruling has no approval missing before acting; approvals the law lets come after
    acting still branch off the center's tasking, as they branch off any decision.
    """
    filed = b.steps[0].id
    requester = b.steps[0].organization
    ruling_citations = [str(c) for c in ruling.citations]
    task = b.add(
        center.id,
        StepKind.COORDINATE,
        f"{center.name} tasks {b.name(executor)} for {b.name(requester)} at the tactical level "
        "(no approval is missing)",
        [filed],
        citations=(*ruling_citations, *center.source),
        verb="task",
    )
    effect = b.add(
        executor,
        StepKind.EXECUTE,
        f"{b.name(executor)} carries out: {label}",
        [task],
        citations=ruling_citations,
        verb="execute",
    )
    _after(b, frameworks, ruling.after, center.id, task, requester=requester)
    obtained = {s.approval for s in b.steps if s.approval}
    skipped = [a for a in (*ruling.missing, *ruling.after) if a not in obtained]
    if skipped:  # pragma: no cover - the route is taken only without missing approvals
        raise InvalidQuery(f"request {request.id!r}: the tactical route would skip {', '.join(skipped)}")
    notes: tuple[str, ...] = (
        f"Tactical route through {center.id}: both units are members and the law requires no approval "
        f"before acting (rules {', '.join(ruling.rule_ids)}).",
    )
    notes += tuple(f"Assumed reading: {a}" for a in ruling.assumptions)
    if center.assumption:
        notes += (f"Assumed center: {center.assumption.strip()}",)
    if ruling.after:
        notes += (f"After acting: {', '.join(ruling.after)} (the effect does not wait for it).",)
    return DecisionPath(
        request=request.id,
        structure=b.structure.id,
        steps=tuple(b.steps),
        decision_step=task,
        effect_step=effect,
        notes=(*notes, *b.notes),
    )


def _compile_designation(
    structure: Structure, frameworks: FrameworkSet, request: RequestSpec
) -> DecisionPath:
    situation = request.designates
    assert situation is not None
    if situation not in frameworks.situations:
        raise UnknownId("situation", situation, frameworks.situations)
    procedure = find_designation(situation, frameworks.ids)
    for approval in procedure.approvals:
        if approval not in frameworks.approvals:
            raise UnknownId("approval", approval, frameworks.approvals)
    granted = set(request.granted)
    urgent = "urgent" in request.flags
    wanted = _with_needs(frameworks, procedure.approvals)
    later = [a for a in procedure.urgent_after if urgent and a not in granted]
    before = [a for a in wanted if a not in granted and a not in later]
    b = _Builder(structure)
    if not before:
        raise InvalidQuery(
            f"request {request.id!r}: every approval designating {situation!r} is already granted "
            f"({', '.join(wanted)}); nothing to request"
        )
    first = before[0]
    requester = request.requester or _default_designation_requester(structure, first)
    structure.org(requester)
    label = request.name or procedure.label or f"designation of {situation}"
    filed = b.add(
        requester,
        StepKind.COORDINATE,
        f"{b.name(requester)} proposes: {label}",
        [],
        citations=procedure.source,
        verb="file",
    )
    pos, last = _approvals(b, frameworks, before, requester, filed, requester=requester)
    decision = effect = last  # the designation holds once the last approval before it is obtained
    _after(b, frameworks, later, pos, effect, requester=requester)
    notes: tuple[str, ...] = (f"Designation: {label}.",)
    if procedure.assumption:
        notes += (f"Assumed reading: {procedure.assumption.strip()}",)
    if later:
        notes += (f"After the designation (special urgency): {', '.join(later)}.",)
    notes += tuple(b.notes)
    return DecisionPath(
        request=request.id,
        structure=structure.id,
        steps=tuple(b.steps),
        decision_step=decision,
        effect_step=effect,
        notes=notes,
    )


def _with_needs(frameworks: FrameworkSet, approvals: Sequence[str]) -> list[str]:
    """Return the approvals with everything they need, in the law's order."""
    out: set[str] = set()
    stack = list(approvals)
    while stack:
        a = stack.pop()
        if a not in out:
            out.add(a)
            stack.extend(frameworks.approvals[a].needs)
    return sorted(out, key=lambda a: frameworks.approval_order[a])


def _executor(structure: Structure, request: RequestSpec) -> str:
    if request.executor is not None:
        structure.org(request.executor)
        return request.executor
    if request.actor is not None and request.actor in structure.org_by_id:
        return request.actor
    raise InvalidQuery(
        f"request {request.id!r}: name the `executor` (actor {request.actor!r} is not an organization of "
        f"{structure.id!r})"
    )


def _requester(structure: Structure, request: RequestSpec, executor: str) -> str:
    if request.requester is not None:
        structure.org(request.requester)
        return request.requester
    chain = chain_of_command(structure, executor)
    return chain[0].superior if chain else executor


def _default_designation_requester(structure: Structure, approval: str) -> str:
    granter = _granter(structure, approval, near=None)
    drafter = _drafter(structure, granter)
    return drafter.id if drafter is not None else granter.id


def _endorse(b: _Builder, requester: str, last: str) -> tuple[str, str]:
    """A headquarters without operational control passes the request to the superior that has it."""
    org = b.structure.org(requester)
    if org.kind is not OrgKind.COMMAND:
        return requester, last
    try:
        authority = operational_authority(b.structure, requester)
    except NotFound:
        return requester, last
    if authority.id == requester:
        return requester, last
    last = b.travel(requester, authority.id, last, purpose="request")
    last = b.add(
        authority.id,
        StepKind.COORDINATE,
        f"{authority.name} endorses the request (it holds operational control)",
        [last],
        citations=authority.source,
        verb="endorse",
    )
    return authority.id, last


def _granter(structure: Structure, approval: str, near: str | None) -> Organization:
    granters = structure.granters(approval)
    if not granters:
        raise InvalidQuery(
            f"no organization of structure {structure.id!r} grants approval {approval!r}; add "
            f"`grants: [{approval}]` to the organization that gives it, or list it as `granted` in the "
            "request"
        )
    if len(granters) == 1 or near is None:
        return granters[0]
    if near in {g.id for g in granters}:
        return structure.org(near)

    def cost(org: Organization) -> float:
        try:
            return coordination_route(structure, near, org.id).cost
        except NotFound:
            return float("inf")

    return min(granters, key=cost)


def _drafter(structure: Structure, body: Organization) -> Organization | None:
    """Return the staff that drafts the decisions of a collective body (it supports the body or a member)."""
    if body.kind not in COLLECTIVE:
        return None
    members = {body.id} | {
        r.from_ for r in structure.relations if r.kind is RelationKind.MEMBER_OF and r.to == body.id
    }
    for rel in structure.relations:
        if rel.kind is RelationKind.SUPPORTS and rel.to in members:
            staff = structure.org(rel.from_)
            if staff.kind is OrgKind.STAFF and staff.nation == body.nation:
                return staff
    return None


def _embassy(structure: Structure, nation: str, start: str, host: str) -> Organization | None:
    """Return the requesting nation's embassy nearest the host-nation body, if the structure has one."""
    embassies = [o for o in structure.organizations if o.kind is OrgKind.EMBASSY and o.nation == nation]
    best: tuple[float, Organization] | None = None
    for embassy in embassies:
        if embassy.id == start:
            return embassy
        try:
            cost = coordination_route(structure, embassy.id, host).cost
        except NotFound:
            continue
        if best is None or cost < best[0]:
            best = (cost, embassy)
    return best[1] if best else None


def _relation(structure: Structure, a: str, b: str) -> Relation | None:
    for rel in structure.relations:
        if {rel.from_, rel.to} == {a, b}:
            return rel
    return None


def _counterpart_ministry(structure: Structure, embassy: Organization, host: str) -> Organization | None:
    """Return the host-nation ministry an embassy deals with directly (the foreign ministry), if any."""
    for rel in structure.relations:
        if embassy.id not in (rel.from_, rel.to) or rel.kind.is_hierarchical:
            continue
        other = structure.org(rel.to if rel.from_ == embassy.id else rel.from_)
        if other.nation == host and other.kind is OrgKind.MINISTRY:
            return other
    return None


def _approvals(
    b: _Builder,
    frameworks: FrameworkSet,
    approvals: Sequence[str],
    pos: str,
    last: str,
    *,
    requester: str,
    after_effect: bool = False,
) -> tuple[str, str]:
    """Add the steps that obtain each approval in turn; return the last organization and step."""
    structure = b.structure
    nation = structure.org(requester).nation
    for approval_id in approvals:
        approval = frameworks.approvals[approval_id]
        citations = [str(c) for c in approval.citations]
        granter = _granter(structure, approval_id, near=pos)
        if granter.id == pos and last == b.steps[0].id and pos == requester:
            # the requester grants it by filing (a force's own request for protection or support)
            b.steps[0] = b.steps[0].model_copy(
                update={"approval": approval_id, "citations": (*b.steps[0].citations, *citations)}
            )
            continue
        foreign = granter.nation not in (nation, BILATERAL) and nation != BILATERAL
        on_our_side = structure.org(pos).nation == nation
        if foreign and granter.kind is OrgKind.GOVERNMENT and on_our_side:
            embassy = _embassy(structure, nation, pos, granter.id)
            if embassy is not None and embassy.id != pos:
                last = b.travel(pos, embassy.id, last, purpose="request", after_effect=after_effect)
                last = b.add(
                    embassy.id,
                    StepKind.COORDINATE,
                    f"{embassy.name} conveys the request to the government ({approval.name})",
                    [last],
                    after_effect=after_effect,
                    citations=citations,
                    verb="convey",
                )
                pos = embassy.id
                b.channel.append(embassy.id)
                ministry = _counterpart_ministry(structure, embassy, granter.nation)
                if ministry is not None:
                    last = b.add(
                        ministry.id,
                        StepKind.COORDINATE,
                        f"{ministry.name} receives the request through diplomatic channels",
                        [last],
                        after_effect=after_effect,
                        citations=_relation_sources(_relation(structure, embassy.id, ministry.id)),
                        verb="receive",
                    )
                    pos = ministry.id
                    b.channel.append(ministry.id)
        drafter = _drafter(structure, granter)
        if (
            drafter is not None
            and drafter.id not in b.drafted
            and drafter.id == pos
            and last == b.steps[0].id
        ):
            # the requester is the drafting staff: its proposal is the draft
            b.drafted.add(drafter.id)
            first = b.steps[0]
            b.steps[0] = first.model_copy(
                update={
                    "label": f"{first.label}; drafts the decision for {granter.name}",
                    "citations": (*first.citations, *citations),
                }
            )
        if drafter is not None and drafter.id not in b.drafted:
            b.drafted.add(drafter.id)
            if drafter.id != pos:
                last = b.travel(pos, drafter.id, last, purpose="request", after_effect=after_effect)
            last = b.add(
                drafter.id,
                StepKind.COORDINATE,
                f"{drafter.name} drafts the decision for {granter.name} ({approval.name})",
                [last],
                after_effect=after_effect,
                citations=citations,
                verb="draft",
            )
            pos = drafter.id
        if granter.id != pos:
            last = b.travel(pos, granter.id, last, purpose="request", after_effect=after_effect)
        kind = StepKind.CONSULT if granter.kind is OrgKind.COUNCIL else StepKind.APPROVE
        last = b.add(
            granter.id,
            kind,
            f"{granter.name}: {approval.name}",
            [last],
            approval=approval_id,
            after_effect=after_effect,
            citations=citations,
            verb=approval_id,
        )
        pos = granter.id
    return pos, last


def _order(
    b: _Builder, pos: str, last: str, *, executor: str, requester: str, decided: bool = True
) -> tuple[str, str]:
    """Carry the decision down the executor's chain of command; return the executor's superior and step.

    With `decided` False (the act needed no approval), what travels is the request itself, and the
    executor's commander that receives it decides.
    """
    structure = b.structure
    what = "decision" if decided else "request"
    chain = [executor, *(link.superior for link in chain_of_command(structure, executor))]
    if pos not in chain:
        target = requester if requester in chain else chain[min(1, len(chain) - 1)]
        if target != pos:
            channel = b.channel if target == requester else []
            for waypoint in reversed(channel):  # the answer returns the way the request came
                if waypoint != pos:
                    last = b.travel(pos, waypoint, last, purpose="decision")
                    last = b.add(
                        waypoint,
                        StepKind.COORDINATE,
                        f"{b.name(waypoint)} passes the answer back",
                        [last],
                        verb="answer",
                    )
                    pos = waypoint
            last = b.travel(pos, target, last, purpose=what)
            last = b.add(
                target,
                StepKind.COORDINATE,
                f"{b.name(target)} receives the {what}" + ("" if decided else " and decides"),
                [last],
                verb="receive",
            )
            pos = target
        if pos not in chain:  # the executor's commander is elsewhere: reach the nearest chain member
            nearest = chain[min(1, len(chain) - 1)]
            last = b.travel(pos, nearest, last, purpose=what)
            pos = nearest
    index = chain.index(pos)
    links = chain_of_command(structure, executor)
    if index >= 1 and not _ordered_at(b, pos, last):
        last = b.add(
            pos,
            StepKind.ORDER,
            f"{b.name(pos)} orders {b.name(chain[index - 1])}",
            [last],
            citations=links[index - 1].relation.source,
            verb="order",
        )
    for level in range(index - 1, 0, -1):
        org = chain[level]
        last = b.add(
            org,
            StepKind.ORDER,
            f"{b.name(org)} passes the order down to {b.name(chain[level - 1])}",
            [last],
            citations=links[level - 1].relation.source,
            verb="order",
        )
    return pos, last


def _ordered_at(b: _Builder, org: str, last: str) -> bool:
    """Tell whether the step just added at `org` already issues the order (an approve/order step)."""
    step = next(s for s in b.steps if s.id == last)
    return step.organization == org and step.kind in (StepKind.APPROVE, StepKind.ORDER)


def _after(
    b: _Builder,
    frameworks: FrameworkSet,
    approvals: Sequence[str],
    pos: str,
    decision: str,
    *,
    requester: str,
) -> None:
    """Add the approvals the law lets come after acting, branching off the decision."""
    if approvals:
        _approvals(b, frameworks, approvals, pos, decision, requester=requester, after_effect=True)
