"""Questions asked of a structure: who commands whom, and how word travels between the nations.

Three queries, all pure functions of a `Structure`:

- `chain_of_command`: the links from an organization up to the top of its national hierarchy.
- `operational_commander`: the organization holding operational control (`commands`) over another;
  planning uses it to place `order` steps.
- `coordination_route`: the cheapest path between two organizations through the structure's command
  links and coordination mechanisms, with the time zone and UTC offset at each hop.

No wall clock: offsets are computed at an instant the caller gives, by default noon UTC on the first day
of the structure's era, so the same question always gets the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from kizuna.errors import InvalidQuery, NotFound
from kizuna.model.ids import BILATERAL
from kizuna.model.structure import Organization, Relation, RelationKind, Structure

if TYPE_CHECKING:
    import networkx as nx

#: Which superior a chain of command follows when an organization has several: operational command
#: first, then tactical control, administrative control, and reporting lines last.
CHAIN_PRIORITY: tuple[RelationKind, ...] = (
    RelationKind.COMMANDS,
    RelationKind.TACTICAL_CONTROL,
    RelationKind.ADMINISTRATIVE_CONTROL,
    RelationKind.REPORTS_TO,
)


def relay_phrase(kind: RelationKind, forward: bool, previous: str) -> str:
    """Say how a request reaches an organization over a relation from `previous`, as a staff officer would.

    `forward` is True when the request travels the way the relation is written (from `from` to `to`):
    down a chain of command, up a reporting line, from a member into its coordination body.
    """
    phrases: dict[RelationKind, tuple[str, str]] = {
        RelationKind.COMMANDS: ("down the chain of command from {p}", "up the chain of command from {p}"),
        RelationKind.TACTICAL_CONTROL: ("down the tactical chain from {p}", "up the tactical chain from {p}"),
        RelationKind.ADMINISTRATIVE_CONTROL: (
            "down the administrative chain from {p}",
            "up the administrative chain from {p}",
        ),
        RelationKind.REPORTS_TO: ("from {p}, which reports to it", "from {p}, to which it reports"),
        RelationKind.MEMBER_OF: ("from its member {p}", "from {p}, the body it sits in"),
        RelationKind.LIAISON: ("from {p} through their liaison", "from {p} through their liaison"),
        RelationKind.COORDINATES_WITH: (
            "from {p}, with which it coordinates",
            "from {p}, with which it coordinates",
        ),
        RelationKind.SUPPORTS: ("from {p}, which supports it", "from {p}, which it supports"),
    }
    down, up = phrases[kind]
    return (down if forward else up).format(p=previous)


#: The cost of crossing one relation in `coordination_route`. Command links and the formal coordination
#: mechanisms (membership of a coordination body, liaison) cost 1; administrative and reporting lines cost
#: a little more, so an operational chain wins a tie; a direct `coordinates-with` between two bodies costs
#: 1.5, so a route through a standing coordination body is preferred to an informal shortcut of equal
#: length; `supports` is a logistics relation, not a channel for decisions, and is avoided.
ROUTE_WEIGHTS: dict[RelationKind, float] = {
    RelationKind.COMMANDS: 1.0,
    RelationKind.TACTICAL_CONTROL: 1.0,
    RelationKind.ADMINISTRATIVE_CONTROL: 1.25,
    RelationKind.REPORTS_TO: 1.25,
    RelationKind.MEMBER_OF: 1.0,
    RelationKind.LIAISON: 1.0,
    RelationKind.COORDINATES_WITH: 1.5,
    RelationKind.SUPPORTS: 4.0,
}


@dataclass(frozen=True, slots=True)
class CommandLink:
    """One step up a chain of command: `subordinate` is under `superior` by a relation of `kind`."""

    subordinate: str
    kind: RelationKind
    superior: str
    relation: Relation

    def __str__(self) -> str:
        return f"{self.subordinate} --{self.kind.value}--> {self.superior}"


def superiors(structure: Structure, org_id: str) -> tuple[CommandLink, ...]:
    """Return every hierarchical link above an organization, in `CHAIN_PRIORITY` order then file order.

    Raises:
        UnknownId: `org_id` is not an organization of the structure.
    """
    structure.org(org_id)
    links: list[CommandLink] = []
    for rel in structure.relations:
        if not rel.kind.is_hierarchical:
            continue
        sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
        if sub == org_id:
            links.append(CommandLink(sub, rel.kind, sup, rel))
    links.sort(key=lambda link: CHAIN_PRIORITY.index(link.kind))
    return tuple(links)


def chain_of_command(structure: Structure, org_id: str) -> tuple[CommandLink, ...]:
    """Return the links from an organization up to the top of its hierarchy, nearest first.

    At each level the chain follows the operational superior (`commands`) where there is one, else
    tactical control, else administrative control, else the first `reports-to` in the file: the chain
    answers "whose order does this organization act on". An organization at the top has an empty chain.

    Raises:
        UnknownId: `org_id` is not an organization of the structure.
    """
    chain: list[CommandLink] = []
    seen = {org_id}
    current = org_id
    while True:
        above = superiors(structure, current)
        if not above:
            return tuple(chain)
        link = above[0]
        if link.superior in seen:  # a loaded structure has no command cycle; guard hand-built ones
            return tuple(chain)
        chain.append(link)
        seen.add(link.superior)
        current = link.superior


def operational_commander(structure: Structure, org_id: str) -> Organization | None:
    """Return the organization holding operational control (`commands`) over `org_id`, if any.

    Raises:
        UnknownId: `org_id` is not an organization of the structure.
    """
    structure.org(org_id)
    for rel in structure.relations:
        if rel.kind is RelationKind.COMMANDS and rel.to == org_id:
            return structure.org(rel.from_)
    return None


def subordinates(structure: Structure, org_id: str) -> tuple[Organization, ...]:
    """Return the organizations `org_id` holds operational control over, in file order.

    Raises:
        UnknownId: `org_id` is not an organization of the structure.
    """
    structure.org(org_id)
    return tuple(
        structure.org(rel.to)
        for rel in structure.relations
        if rel.kind is RelationKind.COMMANDS and rel.from_ == org_id
    )


def operational_authority(structure: Structure, org_id: str) -> Organization:
    """Return the nearest organization at or above `org_id` that holds operational control over others.

    This answers "who commands this organization's forces": a headquarters without operational control
    (an administrative command) defers to the first superior that has it.

    Raises:
        UnknownId: `org_id` is not an organization of the structure.
        NotFound: nothing at or above `org_id` holds operational control.
    """
    candidates = [org_id, *(link.superior for link in chain_of_command(structure, org_id))]
    for candidate in candidates:
        if subordinates(structure, candidate):
            return structure.org(candidate)
    raise NotFound(f"no organization at or above {org_id!r} holds operational control (`commands`)")


@dataclass(frozen=True, slots=True)
class Hop:
    """One organization on a route, how the route reached it, and its clock."""

    org: str
    name: str
    nation: str
    relation: Relation | None
    forward: bool
    site: str | None
    time_zone: str | None
    utc_offset: timedelta | None

    @property
    def via(self) -> str:
        """Describe the relation that led here, read in the direction of travel ('' for the start)."""
        if self.relation is None:
            return ""
        kind = self.relation.kind.value
        return kind if self.forward else f"{kind} (reverse)"

    def words(self, previous: str) -> str:
        """Say how this hop was reached from `previous` (a name), e.g. 'up the chain of command from X'."""
        if self.relation is None:
            return ""
        return relay_phrase(self.relation.kind, self.forward, previous)

    @property
    def offset_text(self) -> str:
        """The UTC offset as 'UTC+09:00', or '?' where the organization has no site."""
        return format_offset(self.utc_offset)


@dataclass(frozen=True, slots=True)
class OffsetChange:
    """A hop where the clock changes: the route crosses from one UTC offset to another."""

    from_org: str
    to_org: str
    before: timedelta
    after: timedelta

    @property
    def hours(self) -> float:
        """The change in hours (positive when the clock moves ahead)."""
        return (self.after - self.before).total_seconds() / 3600


@dataclass(frozen=True, slots=True)
class CoordinationRoute:
    """A coordination route between two organizations, with the instant its offsets were computed at."""

    hops: tuple[Hop, ...]
    cost: float
    at: datetime

    @property
    def orgs(self) -> tuple[str, ...]:
        """The organization ids along the route, start to end."""
        return tuple(h.org for h in self.hops)

    @property
    def bodies(self) -> tuple[str, ...]:
        """The bilateral coordination bodies the route passes through."""
        return tuple(h.org for h in self.hops if h.nation == BILATERAL)

    @property
    def offset_changes(self) -> tuple[OffsetChange, ...]:
        """Each hop where the UTC offset differs from the previous known one."""
        changes: list[OffsetChange] = []
        last: Hop | None = None
        for hop in self.hops:
            if hop.utc_offset is None:
                continue
            if last is not None and last.utc_offset is not None and hop.utc_offset != last.utc_offset:
                changes.append(OffsetChange(last.org, hop.org, last.utc_offset, hop.utc_offset))
            last = hop
        return tuple(changes)

    @property
    def max_offset_spread(self) -> timedelta:
        """The widest gap between two clocks on the route."""
        offsets = [h.utc_offset for h in self.hops if h.utc_offset is not None]
        return max(offsets) - min(offsets) if offsets else timedelta(0)

    def to_data(self) -> dict[str, Any]:
        """Return the route as plain data (for --json output and reports)."""
        return {
            "at": self.at.isoformat(),
            "cost": self.cost,
            "hops": [
                {
                    "org": h.org,
                    "name": h.name,
                    "nation": h.nation,
                    "via": h.relation.key if h.relation else None,
                    "forward": h.forward,
                    "site": h.site,
                    "time_zone": h.time_zone,
                    "utc_offset": format_offset(h.utc_offset),
                }
                for h in self.hops
            ],
            "offset_changes": [
                {"from": c.from_org, "to": c.to_org, "hours": c.hours} for c in self.offset_changes
            ],
        }


def format_offset(offset: timedelta | None) -> str:
    """Format a UTC offset as 'UTC+09:00' / 'UTC-10:00' ('?' when unknown)."""
    if offset is None:
        return "?"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def era_instant(structure: Structure) -> datetime:
    """Return the instant offsets are computed at by default: 12:00 UTC on the era's first day."""
    return datetime.combine(structure.era.valid_from, time(12), tzinfo=UTC)


def route_graph(structure: Structure) -> nx.Graph[str]:
    """Return the undirected, weighted graph of every relation (the cheapest relation per pair)."""
    import networkx as nx

    graph: nx.Graph[str] = nx.Graph()
    graph.add_nodes_from(o.id for o in structure.organizations)
    for rel in structure.relations:
        weight = ROUTE_WEIGHTS[rel.kind]
        current = graph.get_edge_data(rel.from_, rel.to)
        if current is None or weight < current["weight"]:
            graph.add_edge(rel.from_, rel.to, weight=weight, relation=rel)
    return graph


def coordination_route(
    structure: Structure, a: str, b: str, *, at: datetime | None = None
) -> CoordinationRoute:
    """Return the cheapest coordination route from organization `a` to organization `b`.

    Relations are travelled in either direction at the cost given by `ROUTE_WEIGHTS`; among routes of
    equal cost networkx's Dijkstra picks one deterministically (by the structure's file order). Each hop
    carries the organization's site, time zone and UTC offset at `at` (an aware datetime; by default
    `era_instant(structure)`).

    Raises:
        UnknownId: `a` or `b` is not an organization of the structure.
        InvalidQuery: `a` and `b` are the same, or `at` is a naive datetime.
        NotFound: no chain of relations connects the two.
    """
    import networkx as nx

    structure.org(a)
    structure.org(b)
    if a == b:
        raise InvalidQuery(f"a route needs two different organizations (got {a!r} twice)")
    when = at if at is not None else era_instant(structure)
    if when.tzinfo is None:
        raise InvalidQuery(f"`at` must carry a time zone (got naive {when.isoformat()})")
    graph = route_graph(structure)
    try:
        path: list[str] = nx.dijkstra_path(graph, a, b, weight="weight")
    except nx.NetworkXNoPath:
        raise NotFound(f"no chain of relations connects {a!r} and {b!r}") from None
    hops: list[Hop] = []
    previous: str | None = None
    for org_id in path:
        relation: Relation | None = None
        forward = True
        if previous is not None:
            relation = graph.edges[previous, org_id]["relation"]
            forward = relation.from_ == previous
        hops.append(_hop(structure, org_id, relation, forward, when))
        previous = org_id
    cost = sum(float(graph.edges[u, v]["weight"]) for u, v in pairwise(path))
    return CoordinationRoute(tuple(hops), cost, when)


def _hop(structure: Structure, org_id: str, relation: Relation | None, forward: bool, at: datetime) -> Hop:
    org = structure.org(org_id)
    site = structure.site_of(org_id)
    offset = at.astimezone(site.zone).utcoffset() if site is not None else None
    return Hop(
        org=org.id,
        name=org.name,
        nation=org.nation,
        relation=relation,
        forward=forward,
        site=site.id if site else None,
        time_zone=site.time_zone if site else None,
        utc_offset=offset,
    )
