"""The decision path drawn as a graph, server-side, as SVG: steps in columns by depth, arrows between.

Drawn on the server because the path is the server's object: the page receives a picture with every
step's status already decided, and a table beside it says the same in words (for screen readers and
for copying). Colours come from the stylesheet (`status-<status>` classes), not from here.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from kizuna.coordination import RequestState
from kizuna.planning import DecisionPath

BOX_W, BOX_H = 168, 58
GAP_X, GAP_Y = 44, 16
PAD = 8
#: Columns per row: a long path wraps onto further rows rather than running off the page.
PER_ROW = 6
#: Space between two rows of columns, for the arrows that turn back.
ROW_GAP = 34
#: Characters of an organization's name that fit on one line of a box.
FIT = 22


def depths(path: DecisionPath) -> dict[str, int]:
    """Return each step's column: the length of the longest chain of predecessors before it."""
    depth: dict[str, int] = {}
    for step in path.order():
        depth[step.id] = 1 + max((depth[p] for p in step.predecessors), default=-1)
    return depth


def _fit(text: str) -> str:
    return text if len(text) <= FIT else text[: FIT - 1] + "…"


def path_svg(
    request: RequestState, *, org_name: dict[str, str], kind_name: dict[str, str], status_name: dict[str, str]
) -> Markup:
    """Return the SVG of a request's decision path, each step a link to its row in the steps table."""
    path = request.path
    depth = depths(path)
    columns: dict[int, list[str]] = {}
    for step in path.order():
        columns.setdefault(depth[step.id], []).append(step.id)
    place: dict[str, tuple[float, float]] = {}
    band_of: dict[str, int] = {}
    top = float(PAD)
    for band in range(0, len(columns), PER_ROW):
        cols = range(band, min(band + PER_ROW, len(columns)))
        for col in cols:
            for row, step_id in enumerate(columns[col]):
                place[step_id] = (PAD + (col - band) * (BOX_W + GAP_X), top + row * (BOX_H + GAP_Y))
                band_of[step_id] = band
        top += max(len(columns[c]) for c in cols) * (BOX_H + GAP_Y) - GAP_Y + ROW_GAP
    width = PAD * 2 + min(len(columns), PER_ROW) * (BOX_W + GAP_X) - GAP_X
    height = top - ROW_GAP + PAD
    parts = [
        f'<svg class="path-graph" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="group" aria-labelledby="path-graph-title">',
        '<title id="path-graph-title">' + escape(request.spec.name or request.id) + "</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" class="arrow-head"/></marker></defs>',
    ]
    for step in path.steps:
        x2, y2 = place[step.id]
        for pred in step.predecessors:
            x1, y1 = place[pred]
            if band_of[pred] == band_of[step.id]:
                sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
                mid = (sx + ex) / 2
                d = f"M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex - 2} {ey}"
            else:  # down to the next row, from the bottom of one box to the top of the other
                sx, sy, ex, ey = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2
                d = f"M {sx} {sy} C {sx} {sy + ROW_GAP}, {ex} {ey - ROW_GAP}, {ex} {ey - 2}"
            parts.append(f'<path class="edge" d="{d}" marker-end="url(#arrow)"/>')
    for step in path.order():
        x, y = place[step.id]
        status = request.step_status(step.id).value
        name = org_name.get(step.organization, step.organization)
        effect = " effect" if step.id == path.effect_step else ""
        decision = " decision" if step.id == path.decision_step else ""
        parts.append(
            f'<a href="#step-{escape(step.id)}" class="node status-{status}{effect}{decision}" '
            f'data-step="{escape(step.id)}" data-status="{status}">'
            f"<title>{escape(name)}: {escape(step.label)} ({escape(status_name.get(status, status))})</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6"/>'
            f'<text x="{x + 8}" y="{y + 20}" class="org">{escape(_fit(name))}</text>'
            f'<text x="{x + 8}" y="{y + 38}" class="kind">'
            f"{escape(kind_name.get(step.kind.value, step.kind.value))}</text>"
            f'<text x="{x + 8}" y="{y + 52}" class="status">{escape(status_name.get(status, status))}</text>'
            "</a>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value interpolated above is escaped
