"""Org charts of a structure: the nations side by side, bilateral bodies between them, hierarchy top-down.

The chart is drawn with matplotlib (Agg) on a layout computed here, so no graphviz is needed:

- one column band per nation (the first half of the nations on the left, the rest on the right) and a
  middle band for the bilateral organizations (coordination bodies, combined commands);
- rows are levels of the hierarchy (`commands`, control and `reports-to` relations, superior above
  subordinate, by longest path from the top), so political leadership sits at the top and units at the
  bottom; a coordination body sits at the mean level of its members;
- within a row, boxes are ordered by the mean position of their neighbours (a few barycentre sweeps),
  which pulls organizations with bilateral links towards the middle and keeps chains straight.

`chart_layout` returns the geometry (testable: boxes never overlap); `draw_orgchart` renders it.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kizuna.errors import InvalidQuery
from kizuna.model.ids import BILATERAL
from kizuna.model.queries import era_instant, format_offset
from kizuna.model.structure import Organization, OrgKind, RelationKind, Structure

#: Box size and spacing, in layout units (1 unit = 1 inch on the figure).
BOX_W, BOX_H = 1.55, 0.62
GAP_X, GAP_Y = 0.3, 0.62
BAND_PAD = 0.3
#: Chart output formats, by file suffix.
FORMATS = (".png", ".svg")

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
    """An organization's box: centre, size, and its band."""

    org: str
    x: float
    y: float
    band: str
    level: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Return (left, bottom, right, top)."""
        return (self.x - BOX_W / 2, self.y - BOX_H / 2, self.x + BOX_W / 2, self.y + BOX_H / 2)


@dataclass(frozen=True, slots=True)
class ChartLayout:
    """Where everything goes: bands, boxes, and the figure's extent."""

    bands: tuple[Band, ...]
    boxes: dict[str, Box]
    width: float
    height: float
    levels: int


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
#: Bilateral bodies per row in the middle band.
MIDDLE_COLUMNS = 2


def _levels(structure: Structure) -> dict[str, int]:
    """Row of each organization: its kind's row, pushed below its superiors (and not above whom it supports).

    Units with nothing under them go to the bottom row, where a reader looks for forces. Bilateral
    organizations outside any hierarchy are placed by `_middle_rows`.
    """
    import networkx as nx

    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(o.id for o in structure.organizations)
    for rel in structure.relations:
        if rel.kind.is_hierarchical:
            sup, sub = (rel.from_, rel.to) if rel.kind.points_down else (rel.to, rel.from_)
            graph.add_edge(sup, sub, hierarchical=True)  # overrides a `supports` edge of the same pair
        elif rel.kind is RelationKind.SUPPORTS and not graph.has_edge(rel.to, rel.from_):
            graph.add_edge(rel.to, rel.from_, hierarchical=False)
    if not nx.is_directed_acyclic_graph(graph):  # supports edges may close a loop: drop them
        soft = [(u, v) for u, v, data in graph.edges(data=True) if not data["hierarchical"]]
        graph.remove_edges_from(soft)
    level: dict[str, int] = {}
    for node in nx.topological_sort(graph):
        own = KIND_ROW[structure.org_by_id[node].kind]
        above = (
            level[p] + (1 if graph.edges[p, node]["hierarchical"] else 0) for p in graph.predecessors(node)
        )
        level[node] = max(own, *above) if graph.in_degree(node) else own
    hierarchy = [o.id for o in structure.organizations if o.nation != BILATERAL]
    bottom = max((level[o] for o in hierarchy), default=0)
    for org in structure.organizations:
        if org.kind is OrgKind.UNIT and org.nation != BILATERAL and graph.out_degree(org.id) == 0:
            level[org.id] = bottom
    return level


def _middle_rows(structure: Structure, level: dict[str, int], n_levels: int) -> None:
    """Place bilateral bodies outside any hierarchy at the row nearest the mean row of their members.

    Each row holds at most `MIDDLE_COLUMNS` of them; a body whose row is full takes the nearest free one.
    """
    hierarchical = {
        end for rel in structure.relations if rel.kind.is_hierarchical for end in (rel.from_, rel.to)
    }
    free = dict.fromkeys(range(n_levels), MIDDLE_COLUMNS)
    for org in structure.organizations:
        if org.nation == BILATERAL and org.id in hierarchical:
            free[level[org.id]] = free.get(level[org.id], MIDDLE_COLUMNS) - 1
    wanted: list[tuple[float, int, str]] = []
    for index, org in enumerate(structure.organizations):
        if org.nation != BILATERAL or org.id in hierarchical:
            continue
        linked = [
            level[other]
            for rel in structure.relations
            for other in ((rel.to,) if rel.from_ == org.id else (rel.from_,) if rel.to == org.id else ())
            if structure.org_by_id[other].nation != BILATERAL
        ]
        wanted.append((sum(linked) / len(linked) if linked else 0.0, index, org.id))
    for mean, _, org_id in sorted(wanted):
        rows = sorted(free, key=lambda r: (abs(r - mean), r))
        row = next((r for r in rows if free[r] > 0), round(mean))
        free[row] = free.get(row, MIDDLE_COLUMNS) - 1
        level[org_id] = row


def _band_keys(structure: Structure) -> list[str]:
    nations = [n.id for n in structure.nations]
    used = {o.nation for o in structure.organizations}
    nations += sorted(used - set(nations) - {BILATERAL})
    half = math.ceil(len(nations) / 2)
    middle = [BILATERAL] if BILATERAL in used else []
    return nations[:half] + middle + nations[half:]


def chart_layout(structure: Structure) -> ChartLayout:
    """Compute the chart's geometry: bands left to right, rows top to bottom, no two boxes overlapping."""
    level = _levels(structure)
    national = [level[o.id] for o in structure.organizations if o.nation != BILATERAL]
    n_levels = max(national, default=0) + 1
    _middle_rows(structure, level, n_levels)
    n_levels = max(level.values(), default=0) + 1
    keys = _band_keys(structure)
    rows: dict[str, dict[int, list[str]]] = {k: defaultdict(list) for k in keys}
    for org in structure.organizations:
        rows[org.nation][level[org.id]].append(org.id)

    neighbours: dict[str, list[str]] = defaultdict(list)
    for rel in structure.relations:
        neighbours[rel.from_].append(rel.to)
        neighbours[rel.to].append(rel.from_)

    widths = {k: max((len(r) for r in rows[k].values()), default=1) for k in keys}
    bands: list[Band] = []
    x = 0.0
    nation_index = 0
    for key in keys:
        width = widths[key] * (BOX_W + GAP_X) - GAP_X + 2 * BAND_PAD
        if key == BILATERAL:
            title, colour, box = "Bilateral bodies", _BILATERAL_BAND, _BILATERAL_BOX
        else:
            nation = structure.nation_by_id.get(key)
            title = nation.name if nation else key
            colour = _BAND_COLOURS[nation_index % len(_BAND_COLOURS)]
            box = _BOX_COLOURS[nation_index % len(_BOX_COLOURS)]
            nation_index += 1
        bands.append(Band(key, title, x, x + width, colour, box))
        x += width + GAP_X

    header = 0.9
    height = header + n_levels * (BOX_H + GAP_Y) + 0.2
    xpos: dict[str, float] = {}

    def place(band: Band, ids: list[str]) -> None:
        used = len(ids) * (BOX_W + GAP_X) - GAP_X
        start = (band.x0 + band.x1) / 2 - used / 2 + BOX_W / 2
        for i, org_id in enumerate(ids):
            xpos[org_id] = start + i * (BOX_W + GAP_X)

    band_of = {b.key: b for b in bands}
    for key in keys:
        for ids in rows[key].values():
            place(band_of[key], ids)
    for _sweep in range(4):
        for key in keys:
            for lvl in sorted(rows[key]):
                ids = rows[key][lvl]
                order = {org_id: i for i, org_id in enumerate(ids)}

                def pull(org_id: str, order: dict[str, int] = order) -> tuple[float, int]:
                    near = [xpos[n] for n in neighbours[org_id] if n in xpos]
                    return (sum(near) / len(near) if near else xpos[org_id], order[org_id])

                ids.sort(key=pull)
                place(band_of[key], ids)

    boxes = {
        org.id: Box(
            org.id,
            xpos[org.id],
            height - header - level[org.id] * (BOX_H + GAP_Y) - BOX_H / 2,
            org.nation,
            level[org.id],
        )
        for org in structure.organizations
    }
    return ChartLayout(tuple(bands), boxes, x - GAP_X, height, n_levels)


def _label(org: Organization) -> str:
    """Wrap the name to three lines; a name too long for that loses its parenthetical, then is cut."""
    lines = textwrap.wrap(org.name, 24)
    if len(lines) > 3:
        lines = textwrap.wrap(org.name.split(" (")[0], 24)
    if len(lines) > 3:
        lines = [*lines[:2], textwrap.shorten(" ".join(lines[2:]), 24, placeholder="…")]
    return "\n".join(lines)


def _sublabel(structure: Structure, org: Organization) -> str:
    site = structure.site_of(org.id)
    if site is None:
        return ""
    offset = format_offset(era_instant(structure).astimezone(site.zone).utcoffset())
    place = site.name.split(",")[0].split(" (")[0]
    return f"{textwrap.shorten(place, 24, placeholder='…')} · {offset.removesuffix(':00')}"


def draw_orgchart(structure: Structure, out: str | Path) -> Path:
    """Draw the structure's org chart to `out` (.png or .svg, by suffix) and return the path.

    Raises:
        InvalidQuery: the suffix is not one of `FORMATS`.
    """
    path = Path(out)
    if path.suffix.lower() not in FORMATS:
        raise InvalidQuery(f"chart file must end in {' or '.join(FORMATS)} (got {path.name!r})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyBboxPatch, Rectangle

    lay = chart_layout(structure)
    legend_h = 0.9
    fig_w, fig_h = max(lay.width, 9.0) + 0.4, lay.height + legend_h + 0.9
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.2, fig_w - 0.2)
    ax.set_ylim(-legend_h, lay.height + 0.9)
    ax.axis("off")

    era = f"{structure.era.valid_from} – {structure.era.valid_to or 'present'}"
    hypothetical = structure.hypothetical and "hypothetical" not in structure.name.lower()
    title = structure.name + ("  (hypothetical)" if hypothetical else "")
    ax.text(0.1, lay.height + 0.55, title, fontsize=15, fontweight="bold", va="center")
    ax.text(0.1, lay.height + 0.15, f"{structure.id} · era {era}", fontsize=10, color="#444", va="center")

    for band in lay.bands:
        ax.add_patch(
            Rectangle((band.x0, 0), band.x1 - band.x0, lay.height - 0.15, color=band.colour, zorder=0)
        )
        ax.text(
            (band.x0 + band.x1) / 2,
            lay.height - 0.5,
            band.title,
            ha="center",
            va="center",
            fontsize=12,
            fontweight="bold",
            color="#333",
        )

    box_colour = {b.key: b.box_colour for b in lay.bands}
    for rel in structure.relations:
        a, b = lay.boxes[rel.from_], lay.boxes[rel.to]
        style, colour, width, _ = EDGE_STYLE[rel.kind]
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
                "alpha": 0.85,
            },
            zorder=1,
        )

    for org in structure.organizations:
        box = lay.boxes[org.id]
        left, bottom, _, _ = box.bounds
        ax.add_patch(
            FancyBboxPatch(
                (left, bottom),
                BOX_W,
                BOX_H,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=box_colour[box.band],
                edgecolor="#333" if org.kind is not OrgKind.COORDINATION_BODY else "#5b3f8c",
                linewidth=1.4 if org.kind in {OrgKind.COMMAND, OrgKind.GOVERNMENT} else 0.8,
                zorder=3,
            )
        )
        ax.text(box.x, box.y + 0.06, _label(org), ha="center", va="center", fontsize=7.2, zorder=4)
        ax.text(
            box.x,
            bottom + 0.07,
            org.kind.value,
            ha="center",
            va="center",
            fontsize=5.5,
            color="#555",
            style="italic",
            zorder=4,
        )
        sub = _sublabel(structure, org)
        if sub:
            ax.text(
                box.x,
                bottom - 0.1,
                sub,
                ha="center",
                va="center",
                fontsize=5.6,
                color="#333",
                zorder=4,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 0.6},
            )

    handles = [
        Line2D([0], [0], linestyle=style, color=colour, linewidth=width + 0.3, label=label)
        for kind, (style, colour, width, label) in EDGE_STYLE.items()
        if any(r.kind is kind for r in structure.relations)
    ]
    if handles:
        ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.01, 0.005),
            ncol=min(4, len(handles)),
            fontsize=8,
            frameon=False,
            title="Arrows point from superior to subordinate; times are UTC offsets at the era's start",
            title_fontsize=8,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    # SVG keeps its text as text (searchable, small) and fixed ids, so one structure gives one file.
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "kizuna"}):
        fig.savefig(path, dpi=110 if path.suffix.lower() == ".png" else 72, metadata=_metadata(path))
    plt.close(fig)
    return path


def _metadata(path: Path) -> dict[str, Any]:
    # Fixed metadata so that the same structure gives the same file (no creation date in the SVG).
    return {"Date": None} if path.suffix.lower() == ".svg" else {}


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
    if abs(dy) > BOX_H / 2:
        return box.x, box.y + (BOX_H / 2 if dy > 0 else -BOX_H / 2)
    return box.x + (BOX_W / 2 if other.x > box.x else -BOX_W / 2), box.y
