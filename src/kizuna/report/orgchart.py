"""Org charts of a structure: nations side by side, bilateral bodies between them, hierarchy top-down.

The chart is drawn with matplotlib (Agg) on a layout computed here, so no graphviz is needed:

- one column band per nation (the first half of the nations on the left, the rest on the right) and a
  middle band for the bilateral organizations;
- rows are levels of the hierarchy (`commands`, control and `reports-to` relations, superior above
  subordinate, by longest path from the top), so political leadership sits at the top and units at the
  bottom; within a band, each organization sits under its superior, subordinates side by side in the
  order of their kind and name (the chain of command reads down the page);
- a bilateral coordination body (the BOCC, the ACG, ...) is drawn as a panel that lists its members,
  each in its nation's colour: who sits in it is read inside it, not from lines across the chart;
- boxes grow to hold the whole name (never cut), in English or, with `lang="ja"`, in Japanese where the
  data has a Japanese name (the font comes with the package, see `kizuna.report.fonts`).

Eras are compared on one layout: `chart_layout` takes several structures and places the union of their
organizations, so an organization sits in the same place in every era's chart; `draw_orgchart(..., base=)`
then marks what is new, gone (a faded, dashed box) or changed against the base era, with a legend.

`chart_layout` returns the geometry (testable: boxes never overlap); `draw_orgchart` renders it.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from kizuna.errors import InvalidQuery
from kizuna.model.ids import BILATERAL
from kizuna.model.queries import era_instant, format_offset
from kizuna.model.structure import Organization, OrgKind, Relation, RelationKind, Structure

#: Box width, the least box height, and spacing, in layout units (1 unit = 1 inch on the figure).
BOX_W, BOX_H = 1.6, 0.5
GAP_X, GAP_Y = 0.28, 0.42
BAND_PAD = 0.3
#: A bilateral body's panel: its width, and the height of one member's chip.
PANEL_W, CHIP_H = 3.5, 0.2
#: Chart output formats, by file suffix.
FORMATS = (".png", ".svg", ".pdf")
#: Label sizes: points of the name, the characters of an English line, and line height in inches.
NAME_PT, LINE_CHARS, LINE_H = 7.0, 26, 0.125

#: How each relation kind is drawn: (matplotlib line style, colour, width, legend text). Solid lines are
#: operational command, dashed lines administrative and reporting lines, dotted lines coordination.
EDGE_STYLE: dict[RelationKind, tuple[Any, str, float, str]] = {
    RelationKind.COMMANDS: ("solid", "#1f1f1f", 1.6, "commands (operational control)"),
    RelationKind.TACTICAL_CONTROL: ("solid", "#6a6a6a", 1.0, "tactical control"),
    RelationKind.ADMINISTRATIVE_CONTROL: ((0, (5, 3)), "#6a4c93", 1.1, "administrative control"),
    RelationKind.REPORTS_TO: ((0, (5, 3)), "#8c8c8c", 1.0, "reports to"),
    RelationKind.MEMBER_OF: ((0, (1, 2)), "#2a7f62", 1.3, "member of (coordination body)"),
    RelationKind.LIAISON: ((0, (1, 2)), "#c77d00", 1.3, "liaison"),
    RelationKind.COORDINATES_WITH: ((0, (1, 2)), "#b5179e", 1.3, "coordinates with"),
    RelationKind.SUPPORTS: ((0, (6, 2, 1, 2)), "#4d908e", 1.0, "supports"),
}
_BAND_COLOURS = ("#e8f0fb", "#fbeaea", "#eef7ea", "#fbf5e6")
_BOX_COLOURS = ("#c9dcf5", "#f5cccc", "#d3ecc9", "#f4e3bd")
_BILATERAL_BAND, _BILATERAL_BOX = "#f1ecf8", "#ddd0f0"


class Change(StrEnum):
    """How an organization or relation of a chart differs from the base era's."""

    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


#: Outline of a box by change: (colour, width, line style, legend text).
CHANGE_STYLE: dict[Change, tuple[str, float, str, str]] = {
    Change.ADDED: ("#1b9e3a", 2.6, "solid", "new in this era"),
    Change.CHANGED: ("#e08a00", 2.6, "solid", "changed (name, site, or who commands it)"),
    Change.REMOVED: ("#c0392b", 1.6, "dashed", "gone in this era"),
}


@dataclass(frozen=True, slots=True)
class Band:
    """A vertical band of the chart: one nation, or the bilateral organizations."""

    key: str
    title: str
    x0: float
    x1: float
    colour: str
    box_colour: str


@dataclass(frozen=True, slots=True)
class Box:
    """An organization's box: centre, size, band and row; a panel lists a body's members inside it."""

    org: str
    x: float
    y: float
    band: str
    level: int
    w: float = BOX_W
    h: float = BOX_H
    panel: bool = False

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Return (left, bottom, right, top)."""
        return (self.x - self.w / 2, self.y - self.h / 2, self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True, slots=True)
class ChartLayout:
    """Where everything goes: bands, boxes (of every structure laid out), and the figure's extent."""

    bands: tuple[Band, ...]
    boxes: dict[str, Box]
    width: float
    height: float
    levels: int
    #: The members listed in each panel, by nation band (left to right), of the union of the structures.
    members: dict[str, tuple[str, ...]]


#: The highest row each kind of organization may sit on: leadership on top, ministries below it, then
#: staffs, embassies and commands; hierarchy pushes organizations further down from there.
KIND_ROW: dict[OrgKind, int] = {
    OrgKind.GOVERNMENT: 0,
    OrgKind.LEGISLATURE: 0,
    OrgKind.COUNCIL: 0,
    OrgKind.MINISTRY: 1,
    OrgKind.STAFF: 2,
    OrgKind.EMBASSY: 2,
    OrgKind.COMMAND: 2,
    OrgKind.COORDINATION_BODY: 1,
    OrgKind.UNIT: 3,
}
#: Sideways order of kinds under one superior (staffs beside their commander first, units last).
_KIND_ORDER = {k: i for i, k in enumerate(KIND_ROW)}


# -- the union of several eras -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Union:
    """The organizations and relations of several structures, each once (the latest era's version)."""

    nations: list[tuple[str, str]]
    orgs: dict[str, Organization]
    relations: dict[str, Relation]
    places: dict[str, str]  # organization id -> the short name of its site


def _union(structures: Sequence[Structure]) -> _Union:
    nations: dict[str, str] = {}
    orgs: dict[str, Organization] = {}
    relations: dict[str, Relation] = {}
    places: dict[str, str] = {}
    for s in structures:
        for o in s.organizations:
            site = s.site_by_id.get(o.site) if o.site else None
            if site is not None:
                places[o.id] = _place(site.name)
        for n in s.nations:
            nations.setdefault(n.id, n.name)
        for o in s.organizations:
            orgs[o.id] = o
        for r in s.relations:
            relations[r.key] = r
    for o in orgs.values():
        if o.nation != BILATERAL and o.nation not in nations:
            nations[o.nation] = o.nation
    return _Union(list(nations.items()), orgs, relations, places)


def _is_panel(org: Organization, relations: dict[str, Relation]) -> bool:
    """A bilateral coordination body outside every hierarchy, with members: drawn as a member list."""
    if org.nation != BILATERAL or org.kind is not OrgKind.COORDINATION_BODY:
        return False
    if any(r.kind.is_hierarchical and org.id in (r.from_, r.to) for r in relations.values()):
        return False
    return any(r.kind is RelationKind.MEMBER_OF and r.to == org.id for r in relations.values())


# -- labels ------------------------------------------------------------------------------------------


def _wide(text: str) -> bool:
    return any(ord(c) > 0x2E7F for c in text)


def wrap_name(text: str, chars: int = LINE_CHARS) -> list[str]:
    """Wrap a name at words to `chars` per line (Japanese, which has no spaces, at half as many characters).

    The whole name is kept: no line is cut, a long name takes more lines.
    """
    if _wide(text):
        step = max(chars // 2, 4)
        return [text[i : i + step] for i in range(0, len(text), step)] or [""]
    return textwrap.wrap(text, chars, break_long_words=False, break_on_hyphens=False) or [""]


def _name(org: Organization, lang: str) -> str:
    return (org.name_ja or org.name) if lang == "ja" else org.name


def _place(site_name: str) -> str:
    """A site's name without its parenthetical or the part after the first comma ("Camp Hansen")."""
    return site_name.split(",", maxsplit=1)[0].split(" (", maxsplit=1)[0]


#: Characters of a line of the small print under a name (kind, site and UTC offset).
SMALL_CHARS = 36
SMALL_H = 0.085


def _small_lines(kind: str, place: str | None, offset: str | None) -> list[str]:
    """The small print of a box: its kind, then where it sits and the UTC offset, wrapped, never cut."""
    if place is None:
        return [kind]
    return [kind, *textwrap.wrap(f"{place} · {offset}" if offset else place, SMALL_CHARS)]


def _box_height(org: Organization, lang: str, place: str | None) -> float:
    small = _small_lines(org.kind.value, place, "UTC+00")
    return max(BOX_H, 0.14 + LINE_H * len(wrap_name(_name(org, lang))) + SMALL_H * len(small) + 0.06)


# -- layout ------------------------------------------------------------------------------------------


def _levels(union: _Union) -> dict[str, int]:
    """Row of each organization: its kind's row, pushed below its superiors (and not above whom it supports).

    Units with nothing under them go to the bottom row, where a reader looks for forces.
    """
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(union.orgs)
    for rel in union.relations.values():
        if rel.kind.is_hierarchical:
            sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
            graph.add_edge(sup, sub, hierarchical=True)  # overrides a `supports` edge of the same pair
        elif rel.kind is RelationKind.SUPPORTS and not graph.has_edge(rel.to, rel.from_):
            graph.add_edge(rel.to, rel.from_, hierarchical=False)
    if not nx.is_directed_acyclic_graph(graph):  # supports edges (or two eras' chains) may close a loop
        soft = [(u, v) for u, v, data in graph.edges(data=True) if not data["hierarchical"]]
        graph.remove_edges_from(soft)
        while not nx.is_directed_acyclic_graph(graph):
            graph.remove_edge(*nx.find_cycle(graph)[-1][:2])
    level: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        own = KIND_ROW[union.orgs[node].kind]
        above = (
            level[p] + (1 if graph.edges[p, node]["hierarchical"] else 0) for p in graph.predecessors(node)
        )
        level[node] = max(own, *above) if graph.in_degree(node) else own
    national = [o for o in union.orgs if union.orgs[o].nation != BILATERAL]
    bottom = max((level[o] for o in national), default=0)
    for org in union.orgs.values():
        if org.kind is OrgKind.UNIT and org.nation != BILATERAL and graph.out_degree(org.id) == 0:
            level[org.id] = bottom
    return level


def _superior(union: _Union) -> dict[str, str]:
    """Each organization's first superior in its own band (operational command preferred)."""
    rank = {
        RelationKind.COMMANDS: 0,
        RelationKind.TACTICAL_CONTROL: 1,
        RelationKind.ADMINISTRATIVE_CONTROL: 2,
    }
    best: dict[str, tuple[int, str]] = {}
    for rel in union.relations.values():
        if not rel.kind.is_hierarchical:
            continue
        sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
        if union.orgs[sup].nation != union.orgs[sub].nation:
            continue
        key = (rank.get(rel.kind, 3), sup)
        if sub not in best or key < best[sub]:
            best[sub] = key
    return {sub: sup for sub, (_, sup) in best.items()}


def _band_keys(union: _Union) -> list[str]:
    nations = [n for n, _ in union.nations]
    half = math.ceil(len(nations) / 2)
    used = {o.nation for o in union.orgs.values()}
    middle = [BILATERAL] if BILATERAL in used else []
    return nations[:half] + middle + nations[half:]


def _tree_x(
    ids: list[str], level: dict[str, int], superior: dict[str, str], orgs: dict[str, Organization]
) -> dict[str, float]:
    """Place a band's organizations under their superiors: leaves take slots in chain order, a superior
    sits over the middle of its subordinates; each row is then spread so no two boxes overlap."""
    children: dict[str, list[str]] = defaultdict(list)
    members = set(ids)
    for org in ids:
        sup = superior.get(org)
        if sup in members and level[sup] < level[org]:
            children[sup].append(org)

    def order(org: str) -> tuple[int, int, str]:
        return (level[org], _KIND_ORDER[orgs[org].kind], orgs[org].name)

    roots = sorted((o for o in ids if not any(o in c for c in children.values())), key=order)
    pitch = BOX_W + GAP_X
    x: dict[str, float] = {}
    slot = 0

    def place(org: str) -> None:
        nonlocal slot
        kids = sorted(children.get(org, []), key=order)
        if not kids:
            x[org] = slot * pitch
            slot += 1
            return
        for kid in kids:
            place(kid)
        x[org] = sum(x[k] for k in kids) / len(kids)

    for root in roots:
        place(root)
    rows: dict[int, list[str]] = defaultdict(list)
    for org in ids:
        rows[level[org]].append(org)
    # squeeze the tree to the width of the fullest row, then spread each row so no two boxes overlap,
    # keeping every box as near its place under its superior as the row allows
    widest = max((len(r) for r in rows.values()), default=1)
    span = max(x.values(), default=0.0) - min(x.values(), default=0.0)
    limit = (widest - 1) * pitch
    scale = limit / span if span > limit else 1.0
    low = min(x.values(), default=0.0)
    ideal = {o: (x[o] - low) * scale for o in ids}
    for row in rows.values():
        row.sort(key=lambda o: (ideal[o], order(o)))
        pos = [ideal[o] for o in row]
        for i in range(1, len(pos)):
            pos[i] = max(pos[i], pos[i - 1] + pitch)
        if pos and pos[-1] > max(limit, 0.0):
            pos[-1] = max(limit, 0.0)
            for i in range(len(pos) - 2, -1, -1):
                pos[i] = min(pos[i], pos[i + 1] - pitch)
        for org, value in zip(row, pos, strict=True):
            x[org] = value
    return x


def chart_layout(structure: Structure | Sequence[Structure]) -> ChartLayout:
    """Compute the chart's geometry for one structure, or one layout shared by several eras.

    Bands left to right, rows top to bottom, every organization of every structure given in one place,
    no two boxes overlapping.
    """
    structures = [structure] if isinstance(structure, Structure) else list(structure)
    union = _union(structures)
    lang_heights = {
        o: max(_box_height(org, "en", union.places.get(o)), _box_height(org, "ja", union.places.get(o)))
        for o, org in union.orgs.items()
    }
    level = _levels(union)
    panels = [o for o, org in union.orgs.items() if _is_panel(org, union.relations)]
    grid = [o for o in union.orgs if o not in panels]
    n_levels = max((level[o] for o in grid), default=0) + 1
    keys = _band_keys(union)
    superior = _superior(union)

    members = _panel_members(panels, union, keys, level)

    # rows: the tallest box of the row sets its height
    row_h = [BOX_H] * n_levels
    for org in grid:
        row_h[level[org]] = max(row_h[level[org]], lang_heights[org])
    header = 0.9
    row_top = [header]
    for h in row_h[:-1]:
        row_top.append(row_top[-1] + h + GAP_Y)
    grid_height = row_top[-1] + row_h[-1] + 0.3

    xs: dict[str, float] = {}
    widths: dict[str, float] = {}
    for key in keys:
        ids = [o for o in grid if union.orgs[o].nation == key]
        placed = _tree_x(ids, level, superior, union.orgs)
        xs.update(placed)
        widths[key] = (max(placed.values()) - min(placed.values()) + BOX_W) if placed else 0.0
    # panels of the middle band, stacked beside its grid organizations
    panel_h = {
        p: 0.22
        + LINE_H * len(wrap_name(union.orgs[p].name, 44))
        + CHIP_H * max(_chip_rows(members[p], union, keys), 1)
        + 0.1
        for p in panels
    }
    if panels:
        widths[BILATERAL] = widths.get(BILATERAL, 0.0) + (GAP_X if widths.get(BILATERAL) else 0.0) + PANEL_W

    bands = _bands(keys, widths, dict(union.nations))
    total_width = bands[-1].x1 if bands else 0.0

    member_tops = {o: row_top[min(level.get(o, 0), n_levels - 1)] for o in union.orgs}
    placed_panels, cursor = _stack_panels(panels, members, member_tops, panel_h)
    height = max(grid_height, cursor + 0.3)

    boxes: dict[str, Box] = {}
    band_of = {b.key: b for b in bands}
    for key in keys:
        band = band_of[key]
        ids = [o for o in grid if union.orgs[o].nation == key]
        if not ids:
            continue
        left = min(xs[o] for o in ids)
        for org in ids:
            cx = band.x0 + BAND_PAD + BOX_W / 2 + (xs[org] - left)
            top = row_top[level[org]]
            h = lang_heights[org]
            cy = height - top - row_h[level[org]] / 2  # centred in its row
            boxes[org] = Box(org, cx, cy, key, level[org], BOX_W, h)
    if panels:
        band = band_of[BILATERAL]
        cx = band.x1 - BAND_PAD - PANEL_W / 2
        for panel, top in placed_panels:
            h = panel_h[panel]
            boxes[panel] = Box(
                panel, cx, height - top - h / 2, BILATERAL, level.get(panel, 0), PANEL_W, h, True
            )
    return ChartLayout(tuple(bands), boxes, total_width, height, n_levels, members)


def _panel_members(
    panels: list[str], union: _Union, keys: list[str], level: dict[str, int]
) -> dict[str, tuple[str, ...]]:
    """The members of each panel, nation by nation (left band first), each nation's in chain order."""
    band_rank = {k: i for i, k in enumerate(keys)}
    members: dict[str, tuple[str, ...]] = {}
    for panel in panels:
        found = [
            r.from_ for r in union.relations.values() if r.kind is RelationKind.MEMBER_OF and r.to == panel
        ]
        found.sort(
            key=lambda o: (band_rank.get(union.orgs[o].nation, 99), level.get(o, 0), union.orgs[o].name)
        )
        members[panel] = tuple(dict.fromkeys(found))
    return members


def _bands(keys: list[str], widths: dict[str, float], names: dict[str, str]) -> list[Band]:
    """Lay the bands out left to right, each as wide as its widest row (or panel) and its padding."""
    bands: list[Band] = []
    x = 0.0
    nation_index = 0
    for key in keys:
        width = max(widths.get(key, 0.0), BOX_W) + 2 * BAND_PAD
        if key == BILATERAL:
            title, colour, box = "Bilateral bodies", _BILATERAL_BAND, _BILATERAL_BOX
        else:
            title = names.get(key, key)
            colour = _BAND_COLOURS[nation_index % len(_BAND_COLOURS)]
            box = _BOX_COLOURS[nation_index % len(_BOX_COLOURS)]
            nation_index += 1
        bands.append(Band(key, title, x, x + width, colour, box))
        x += width + GAP_X
    return bands


def _stack_panels(
    panels: list[str], members: dict[str, tuple[str, ...]], tops: dict[str, float], heights: dict[str, float]
) -> tuple[list[tuple[str, float]], float]:
    """Stack panels top-down, each at the mean row of its members or just below the one above it.

    Returns (panel, top) pairs and where the stack ends.
    """

    def wanted(panel: str) -> float:
        found = [tops[m] for m in members[panel] if m in tops]
        return sum(found) / len(found) if found else 0.9

    placed: list[tuple[str, float]] = []
    cursor = 0.9
    for panel in sorted(panels, key=lambda p: (wanted(p), p)):
        top = max(cursor, wanted(panel))
        placed.append((panel, top))
        cursor = top + heights[panel] + GAP_Y / 2
    return placed, cursor


def _chip_rows(members: tuple[str, ...], union: _Union, keys: list[str]) -> int:
    """Rows of member chips a panel needs: its members in two columns (first nations, then the rest)."""
    left = sum(1 for m in members if keys.index(union.orgs[m].nation) < len(keys) // 2) if keys else 0
    return max(left, len(members) - left)


# -- drawing -----------------------------------------------------------------------------------------


def changes(structure: Structure, base: Structure | None) -> tuple[dict[str, Change], dict[str, Change]]:
    """Return how each organization and relation of `structure` (and the base's, if gone) differ from `base`.

    An organization has changed when its name, kind, site or nation differ, or when who holds operational
    control over it differs.
    """
    if base is None:
        return (
            {o.id: Change.SAME for o in structure.organizations},
            {r.key: Change.SAME for r in structure.relations},
        )

    def commander(s: Structure, org: str) -> str | None:
        return next((r.from_ for r in s.relations if r.kind is RelationKind.COMMANDS and r.to == org), None)

    orgs: dict[str, Change] = {}
    for org in structure.organizations:
        old = base.org_by_id.get(org.id)
        if old is None:
            orgs[org.id] = Change.ADDED
        elif (old.name, old.kind, old.site, old.nation) != (org.name, org.kind, org.site, org.nation) or (
            commander(base, org.id) != commander(structure, org.id)
        ):
            orgs[org.id] = Change.CHANGED
        else:
            orgs[org.id] = Change.SAME
    for org in base.organizations:
        orgs.setdefault(org.id, Change.REMOVED)
    now = {r.key for r in structure.relations}
    before = {r.key for r in base.relations}
    rels = {k: (Change.SAME if k in before else Change.ADDED) for k in now}
    rels.update(dict.fromkeys(before - now, Change.REMOVED))
    return orgs, rels


def draw_orgchart(
    structure: Structure,
    out: str | Path,
    *,
    base: Structure | None = None,
    layout_of: Sequence[Structure] = (),
    lang: str = "en",
) -> Path:
    """Draw the structure's org chart to `out` (.png, .svg or .pdf, by suffix) and return the path.

    Args:
        structure: the era drawn.
        out: the file.
        base: an earlier era: what is new, gone or changed against it is marked (with a legend).
        layout_of: the structures whose union sets the layout (default: this one and `base`), so charts
            of several eras drawn with the same list share one layout.
        lang: "en", or "ja" for Japanese names where the data has them.

    Raises:
        InvalidQuery: the suffix is not one of `FORMATS`, or `lang` is neither en nor ja.
    """
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise InvalidQuery(
            f"chart file must end in {', '.join(FORMATS[:-1])} or {FORMATS[-1]} (got {path.name!r})"
        )
    if lang not in ("en", "ja"):
        raise InvalidQuery(f"chart language is en or ja (got {lang!r})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kizuna.report.fonts import register_japanese_font

    family = register_japanese_font() if lang == "ja" else "DejaVu Sans"
    if lang == "ja":  # IPAexGothic has one weight: titles are set in it without asking for a bold one
        import logging

        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    eras = list(layout_of) or [s for s in (base, structure) if s is not None]
    if structure not in eras:
        eras.append(structure)
    lay = chart_layout(eras)
    org_change, rel_change = changes(structure, base)
    legend_h = 1.3 if base is not None else 0.9
    fig_w, fig_h = max(lay.width, 9.0) + 0.4, lay.height + legend_h + 0.9
    with plt.rc_context({"font.family": family, "svg.fonttype": "none", "svg.hashsalt": "kizuna"}):
        fig = plt.figure(figsize=(fig_w, fig_h))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-0.2, fig_w - 0.2)
        ax.set_ylim(-legend_h, lay.height + 0.9)
        ax.axis("off")
        _draw_title(ax, structure, base, lay, lang)
        _draw_bands(ax, structure, lay, lang)
        _draw_edges(ax, structure, base, lay, rel_change)
        _draw_boxes(ax, structure=structure, base=base, lay=lay, org_change=org_change, lang=lang)
        _draw_legend(ax, structure, base)
        path.parent.mkdir(parents=True, exist_ok=True)
        # SVG keeps its text as text (searchable, small) and fixed ids, so one structure gives one file.
        fig.savefig(path, dpi=110 if path.suffix.lower() == ".png" else 72, metadata=_metadata(path))
        plt.close(fig)
    return path


def _draw_title(ax: Any, structure: Structure, base: Structure | None, lay: ChartLayout, lang: str) -> None:
    era = f"{structure.era.valid_from} – {structure.era.valid_to or 'present'}"
    hypothetical = structure.hypothetical and "hypothetical" not in structure.name.lower()
    title = structure.name + ("  (hypothetical)" if hypothetical else "")
    ax.text(0.1, lay.height + 0.55, title, fontsize=15, fontweight="bold", va="center")
    sub = f"{structure.id} · era {era}"
    if base is not None:
        sub += f" · changes marked against {base.id} (era from {base.era.valid_from})"
    if lang == "ja":
        sub += " · 日本語名（ある場合）"
    ax.text(0.1, lay.height + 0.15, sub, fontsize=10, color="#444", va="center")


def _draw_bands(ax: Any, structure: Structure, lay: ChartLayout, lang: str) -> None:
    from matplotlib.patches import Rectangle

    names = {n.id: (n.name_ja or n.name) if lang == "ja" else n.name for n in structure.nations}
    for band in lay.bands:
        ax.add_patch(
            Rectangle((band.x0, 0), band.x1 - band.x0, lay.height - 0.15, color=band.colour, zorder=0)
        )
        title = (
            names.get(band.key, band.title)
            if band.key != BILATERAL
            else ("二国間の機関" if lang == "ja" else band.title)
        )
        ax.text(
            (band.x0 + band.x1) / 2,
            lay.height - 0.5,
            title,
            ha="center",
            va="center",
            fontsize=12,
            fontweight="bold",
            color="#333",
        )


def _draw_edges(
    ax: Any, structure: Structure, base: Structure | None, lay: ChartLayout, rel_change: dict[str, Change]
) -> None:
    relations = list(structure.relations)
    if base is not None:
        relations += [r for r in base.relations if rel_change.get(r.key) is Change.REMOVED]
    present = {o.id for o in structure.organizations}
    for rel in relations:
        if rel.kind is RelationKind.MEMBER_OF and lay.boxes[rel.to].panel:
            continue  # listed inside the body's panel
        a, b = lay.boxes[rel.from_], lay.boxes[rel.to]
        style, colour, width, _ = EDGE_STYLE[rel.kind]
        change = rel_change.get(rel.key, Change.SAME)
        alpha = 0.85
        if change is Change.REMOVED:
            if rel.from_ not in present and rel.to not in present:
                continue
            colour, style, alpha = CHANGE_STYLE[Change.REMOVED][0], (0, (2, 2)), 0.55
        elif change is Change.ADDED and base is not None:
            colour, width = CHANGE_STYLE[Change.ADDED][0], width + 0.6
        (x1, y1), (x2, y2) = _anchor(a, b), _anchor(b, a)
        rad = edge_curvature(lay, rel.from_, rel.to)
        ax.annotate(
            "",
            xy=(x2, y2),
            xytext=(x1, y1),
            arrowprops={
                "arrowstyle": "-|>" if rel.kind.is_hierarchical else "-",
                "linestyle": style,
                "color": colour,
                "linewidth": width,
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": 9,
                "connectionstyle": f"arc3,rad={rad}",
                "alpha": alpha,
            },
            zorder=1,
        )


def _draw_boxes(
    ax: Any,
    *,
    structure: Structure,
    base: Structure | None,
    lay: ChartLayout,
    org_change: dict[str, Change],
    lang: str,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    box_colour = {b.key: b.box_colour for b in lay.bands}
    orgs = {o.id: o for o in structure.organizations}
    if base is not None:
        orgs.update({o.id: o for o in base.organizations if org_change.get(o.id) is Change.REMOVED})
    owner = {o.id: structure if o.id in structure.org_by_id else base for o in orgs.values()}
    for org in orgs.values():
        box = lay.boxes[org.id]
        change = org_change.get(org.id, Change.SAME)
        left, bottom, _, top = box.bounds
        edge, width, style = "#333", 0.8, "solid"
        if org.kind in {OrgKind.COMMAND, OrgKind.GOVERNMENT}:
            width = 1.4
        if org.kind is OrgKind.COORDINATION_BODY:
            edge = "#5b3f8c"
        if base is not None and change is not Change.SAME:
            edge, width, style, _ = CHANGE_STYLE[change]
        faded = change is Change.REMOVED
        ax.add_patch(
            FancyBboxPatch(
                (left, bottom),
                box.w,
                box.h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="white" if faded else box_colour[box.band],
                edgecolor=edge,
                linewidth=width,
                linestyle=style,
                alpha=0.6 if faded else 1.0,
                zorder=3,
            )
        )
        colour = "#888" if faded else "#111"
        if box.panel:
            era = structure if not faded else owner[org.id] or structure
            _draw_panel(ax, org, box, lay, structure=era, lang=lang, colour=colour)
            continue
        lines = wrap_name(_name(org, lang))
        ax.text(
            box.x,
            top - 0.09,
            "\n".join(lines),
            ha="center",
            va="top",
            fontsize=NAME_PT,
            color=colour,
            linespacing=1.05,
            zorder=4,
        )
        ax.text(
            box.x,
            bottom + 0.05,
            "\n".join(_sublabel(owner[org.id] or structure, org)),
            ha="center",
            va="bottom",
            fontsize=5.2,
            color="#555" if not faded else "#999",
            style="italic",
            linespacing=1.0,
            zorder=4,
        )


def _draw_panel(
    ax: Any, org: Organization, box: Box, lay: ChartLayout, *, structure: Structure, lang: str, colour: str
) -> None:
    """A body's panel: its name on top, then its members, each in its nation's colour, two columns."""
    from matplotlib.patches import FancyBboxPatch

    left, _, _, top = box.bounds
    lines = wrap_name(_name(org, lang), 44)
    ax.text(
        box.x,
        top - 0.08,
        "\n".join(lines),
        ha="center",
        va="top",
        fontsize=7.4,
        fontweight="bold",
        color=colour,
        linespacing=1.05,
        zorder=4,
    )
    band_colour = {b.key: b.box_colour for b in lay.bands}
    keys = [b.key for b in lay.bands]
    present = {r.from_ for r in structure.relations if r.kind is RelationKind.MEMBER_OF and r.to == org.id}
    members = [m for m in lay.members.get(org.id, ()) if m in present]
    first = [m for m in members if keys.index(_nation_of(m, lay, structure)) < len(keys) // 2]
    rest = [m for m in members if m not in first]
    chip_w = (box.w - 0.3) / 2
    y0 = top - 0.14 - LINE_H * len(lines)
    for column, ids in enumerate((first, rest)):
        cx = left + 0.1 + chip_w / 2 + column * (chip_w + 0.1)
        for row, member in enumerate(ids):
            cy = y0 - CHIP_H * row - CHIP_H / 2
            found = structure.org_by_id.get(member)
            label = _name(found, lang) if found else member
            label = label.split(" (", maxsplit=1)[0] if len(label) > 30 else label
            ax.add_patch(
                FancyBboxPatch(
                    (cx - chip_w / 2, cy - CHIP_H * 0.42),
                    chip_w,
                    CHIP_H * 0.84,
                    boxstyle="round,pad=0,rounding_size=0.04",
                    facecolor=band_colour.get(_nation_of(member, lay, structure), "#eee"),
                    edgecolor="#777",
                    linewidth=0.4,
                    zorder=4,
                )
            )
            ax.text(
                cx,
                cy,
                label,
                ha="center",
                va="center",
                fontsize=5.6 if len(label) < 36 else 5.0,
                color=colour,
                zorder=5,
            )


def _nation_of(org: str, lay: ChartLayout, structure: Structure) -> str:
    found = structure.org_by_id.get(org)
    if found is not None:
        return found.nation
    box = lay.boxes.get(org)
    return box.band if box else BILATERAL


def _sublabel(structure: Structure, org: Organization) -> list[str]:
    site = structure.site_of(org.id) if org.id in structure.org_by_id else None
    if site is None:
        return _small_lines(org.kind.value, None, None)
    offset = format_offset(era_instant(structure).astimezone(site.zone).utcoffset()).removesuffix(":00")
    return _small_lines(org.kind.value, _place(site.name), offset)


def _draw_legend(ax: Any, structure: Structure, base: Structure | None) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    kinds = {r.kind for r in structure.relations} | ({r.kind for r in base.relations} if base else set())
    handles: list[Any] = [
        Line2D([0], [0], linestyle=style, color=colour, linewidth=width + 0.3, label=label)
        for kind, (style, colour, width, label) in EDGE_STYLE.items()
        if kind in kinds and kind is not RelationKind.MEMBER_OF
    ]
    if base is not None:
        handles += [
            Patch(
                facecolor="white",
                edgecolor=colour,
                linewidth=width,
                linestyle=cast("Any", style),
                label=label,
            )
            for colour, width, style, label in CHANGE_STYLE.values()
        ]
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.01, 0.005),
        ncol=min(4, max(len(handles), 1)),
        fontsize=8,
        frameon=False,
        title="Arrows point from superior to subordinate; a bilateral body lists its members inside it, "
        "in their nation's colour; times are UTC offsets at the era's start",
        title_fontsize=8,
    )


def _metadata(path: Path) -> dict[str, Any]:
    # Fixed metadata so that the same structure gives the same file (no creation date in SVG or PDF).
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return {"Date": None}
    if suffix == ".pdf":
        return {"CreationDate": None, "ModDate": None}
    return {}


#: Sideways pushes (inches, of the Bézier control point) tried, in order, for an edge that would otherwise
#: pass behind another box; the curve's own bulge is half of it.
_BENDS = (0.0, 0.5, -0.5, 1.0, -1.0, 1.6, -1.6)


def edge_curvature(layout: ChartLayout, a: str, b: str) -> float:
    """Return the arc curvature (matplotlib `arc3` rad) that keeps the edge a-b clear of other boxes.

    The layout's units are the same on both axes, so the arc is computed here as matplotlib draws it:
    a quadratic Bézier through the midpoint pushed sideways by `rad` times the edge's length. The first
    curvature that crosses no other box wins; otherwise the one crossing the fewest.
    """
    box_a, box_b = layout.boxes[a], layout.boxes[b]
    (x1, y1), (x2, y2) = _anchor(box_a, box_b), _anchor(box_b, box_a)
    others = [bx.bounds for key, bx in layout.boxes.items() if key not in {a, b}]
    others += [(band.x0, layout.height - 0.75, band.x1, layout.height) for band in layout.bands]  # titles
    best, best_hits = 0.0, math.inf
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    for bend in _BENDS:
        rad = bend / length
        cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
        hits = 0
        for i in range(1, 40):
            s = i / 40
            px = (1 - s) ** 2 * x1 + 2 * (1 - s) * s * cx + s**2 * x2
            py = (1 - s) ** 2 * y1 + 2 * (1 - s) * s * cy + s**2 * y2
            hits += sum(
                1 for (x0, y0, x3, y3) in others if x0 - 0.05 < px < x3 + 0.05 and y0 - 0.05 < py < y3 + 0.05
            )
        if hits == 0:
            return rad
        if hits < best_hits:
            best, best_hits = rad, hits
    return best


def _anchor(box: Box, other: Box) -> tuple[float, float]:
    """Return where an edge leaves `box` towards `other`: top/bottom for vertical, sides otherwise."""
    dy = other.y - box.y
    if abs(dy) > (box.h + other.h) / 4:
        return box.x, box.y + (box.h / 2 if dy > 0 else -box.h / 2)
    return box.x + (box.w / 2 if other.x > box.x else -box.w / 2), box.y
