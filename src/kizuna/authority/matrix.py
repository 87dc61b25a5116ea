"""The authority matrix: for the designations in force, what each actor may do (actor x activity).

This is the sheet a staff officer pins on the wall: every activity of the vocabulary down the side,
the actors across, each cell an outcome with the approvals still missing in the order they are obtained.
Rendered as rows (for a terminal table), CSV, or a self-contained HTML page.

The matrix assumes no fact: where a cell's ruling depends on a fact the sheet leaves out (whose forces
are supported, where the act takes place), the cell says so (`needs supported`) instead of guessing.
Give `supported` or `location` to fill those cells for one value.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kizuna.authority.frameworks import FrameworkSet
from kizuna.authority.query import Query
from kizuna.authority.ruling import Outcome, Ruling
from kizuna.errors import MissingFact

#: Short cell labels per outcome.
LABEL = {
    Outcome.PERMITTED: "permitted",
    Outcome.REQUIRES_APPROVAL: "requires",
    Outcome.PROHIBITED: "prohibited",
}
#: The label and CSV outcome of a cell whose ruling depends on a fact the matrix leaves out.
NEEDS = "needs"
Cell = Ruling | MissingFact


@dataclass(frozen=True, slots=True)
class Matrix:
    """Rulings for every (actor, activity) pair under the designations in force, in one fixed context.

    A cell is a Ruling, or the MissingFact naming what its ruling depends on that the matrix left out.
    """

    situations: tuple[str, ...]
    supported: str | None
    location: str | None
    flags: tuple[str, ...]
    granted: tuple[str, ...]
    actors: tuple[str, ...]
    activities: tuple[str, ...]
    cells: dict[tuple[str, str], Cell]

    def cell(self, actor: str, activity: str) -> Cell:
        """Return the ruling (or the fact it needs) for one actor and activity."""
        return self.cells[(actor, activity)]

    @property
    def situation(self) -> str:
        """The designations in force, joined with '+' (one id when there is one)."""
        return "+".join(self.situations)

    @property
    def context(self) -> str:
        """The fixed part of every query, in words."""
        return (
            f"supported={self.supported or 'not given'}, location={self.location or 'not given'}, "
            f"flags={','.join(self.flags) or '-'}, granted={','.join(self.granted) or '-'}"
        )


def build_matrix(
    frameworks: FrameworkSet,
    situation: str | Iterable[str],
    *,
    supported: str | None = None,
    location: str | None = None,
    flags: Iterable[str] = (),
    granted: Iterable[str] = (),
    actors: Sequence[str] | None = None,
) -> Matrix:
    """Rule on every activity for each actor (default: those not part of another) under `situation`.

    `situation` is one designation or several in force together (their union is ruled on). Facts left
    out (`supported`, `location`) are not assumed: a cell whose ruling depends on one holds the
    MissingFact instead of a ruling.

    Raises:
        UnknownId: a situation or another id is not in the frameworks' vocabulary.
    """
    if actors is None:
        actors = [a for a, term in frameworks.actors.items() if term.part_of is None]
    flag_set, grant_set = frozenset(flags), frozenset(granted)
    situations = frozenset({situation} if isinstance(situation, str) else situation)
    order = frameworks.situation_order
    cells: dict[tuple[str, str], Cell] = {}
    for actor in actors:
        for activity in frameworks.activities:
            query = Query(
                situations=situations,
                actor=actor,
                activity=activity,
                supported=supported,
                location=location,
                flags=flag_set,
                granted=grant_set,
            )
            try:
                cells[(actor, activity)] = frameworks.rule(query)
            except MissingFact as missing:
                cells[(actor, activity)] = missing
    return Matrix(
        situations=tuple(sorted(situations, key=lambda s: order.get(s, len(order)))),
        supported=supported,
        location=location,
        flags=tuple(sorted(flag_set)),
        granted=tuple(sorted(grant_set)),
        actors=tuple(actors),
        activities=tuple(frameworks.activities),
        cells=cells,
    )


def cell_text(ruling: Cell) -> str:
    """A cell in words: the outcome, then missing approvals in order, then those that may come after.

    A cell whose ruling depends on a fact the matrix left out reads `needs supported` (or location).
    """
    if isinstance(ruling, MissingFact):
        return f"{NEEDS} {', '.join(ruling.fields)}"
    text = LABEL[ruling.outcome]
    if ruling.missing:
        text += ": " + " > ".join(ruling.missing)
    if ruling.after:
        text += " (after: " + ", ".join(ruling.after) + ")"
    return text


def matrix_csv(matrix: Matrix) -> str:
    """One row per (actor, activity): designations, context, outcome, missing and after approvals, the
    rules that fired and, with several designations, the one whose legal basis applies."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "situation",
            "actor",
            "activity",
            "supported",
            "location",
            "flags",
            "granted",
            "outcome",
            "missing",
            "after",
            "rules",
            "basis",
        ]
    )
    for actor in matrix.actors:
        for activity in matrix.activities:
            r = matrix.cell(actor, activity)
            if isinstance(r, MissingFact):
                outcome, missing, after, rules, basis = f"{NEEDS}:{'+'.join(r.fields)}", "", "", "", ""
            else:
                outcome, basis = r.outcome.value, r.basis or ""
                missing, after, rules = " ".join(r.missing), " ".join(r.after), " ".join(r.rule_ids)
            writer.writerow(
                [
                    " ".join(matrix.situations),
                    actor,
                    activity,
                    matrix.supported or "",
                    matrix.location or "",
                    " ".join(matrix.flags),
                    " ".join(matrix.granted),
                    outcome,
                    missing,
                    after,
                    rules,
                    basis,
                ]
            )
    return out.getvalue()


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:1.5rem;color:#1b1f24}
h1{font-size:1.4rem;margin:0 0 .2rem} p.ctx{margin:.1rem 0 1rem;color:#444}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #bbb;padding:.3rem .45rem;vertical-align:top}
th{background:#eef1f4;text-align:left} td.permitted{background:#dff3e2} td.requires{background:#fff4d1}
td.prohibited{background:#f9dcdc} td.needs{background:#e8e8f4} td b{display:block} td small{color:#333}
.legend span{display:inline-block;padding:.15rem .5rem;margin-right:.4rem;border:1px solid #bbb}
ol.rules{font-size:.82rem;max-width:70rem} ol.rules li{margin:.3rem 0} code{font-size:.8rem}
@media print{body{margin:.5cm} td,th{padding:.15rem .3rem}}
"""


def matrix_html(matrix: Matrix, frameworks: FrameworkSet) -> str:
    """A self-contained, printable HTML page of the matrix, with the rules it cites listed below."""
    e = html.escape
    terms = [frameworks.situations[s] for s in matrix.situations]
    title = " + ".join(t.name for t in terms)
    rule_index: dict[str, int] = {}
    rows = []
    for activity in matrix.activities:
        cells = []
        for actor in matrix.actors:
            r = matrix.cell(actor, activity)
            if isinstance(r, MissingFact):
                cells.append(
                    f'<td class="{NEEDS}" title="{e(str(r), quote=True)}"><b>{e(cell_text(r))}</b>'
                    f"<small>{e(r.detail)}</small></td>"
                )
                continue
            refs = []
            for rid in r.rule_ids:
                rule_index.setdefault(rid, len(rule_index) + 1)
                refs.append(f"[{rule_index[rid]}]")
            detail = ""
            if r.missing:
                detail += "<small>" + " &rarr; ".join(e(a) for a in r.missing) + "</small>"
            if r.after:
                detail += "<small> after: " + ", ".join(e(a) for a in r.after) + "</small>"
            if r.lawful_under:
                detail += "<small>lawful under: " + ", ".join(e(s) for s in r.lawful_under) + "</small>"
            title = e(" | ".join(r.reasons), quote=True)
            cells.append(
                f'<td class="{LABEL[r.outcome]}" title="{title}"><b>{e(r.outcome.value)}</b>{detail}'
                f"<small> {' '.join(refs)}</small></td>"
            )
        name = frameworks.activities[activity].name
        rows.append(f"<tr><th>{e(name)}<br><code>{e(activity)}</code></th>{''.join(cells)}</tr>")
    header = "".join(f"<th>{e(frameworks.actors[a].name)}<br><code>{e(a)}</code></th>" for a in matrix.actors)
    by_id = {r.id: r for r in frameworks.rules}
    notes = []
    for rid, n in sorted(rule_index.items(), key=lambda kv: kv[1]):
        rule = by_id[rid]
        cites = "; ".join(e(str(c)) for c in rule.citations)
        assumption = f" <i>Assumption: {e(rule.assumption)}</i>" if rule.assumption else ""
        notes.append(
            f'<li value="{n}"><code>{e(rid)}</code> {e(rule.reason)}{assumption} '
            f"<small>({cites})</small></li>"
        )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Authority matrix: {e(matrix.situation)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>Authority matrix: {e(title)}</h1>\n"
        f"<p class='ctx'>{e(' '.join(t.description for t in terms))}<br>"
        f"Every query: {e(matrix.context)}. "
        f"Frameworks: {e(', '.join(frameworks.ids))}.</p>\n"
        "<p class='legend'><span style='background:#dff3e2'>permitted</span>"
        "<span style='background:#fff4d1'>requires approval (missing, in order)</span>"
        "<span style='background:#f9dcdc'>prohibited</span>"
        "<span style='background:#e8e8f4'>needs a fact the sheet leaves out</span></p>\n"
        f"<table><thead><tr><th>activity</th>{header}</tr></thead><tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>\n"
        "<h2>Rules</h2><ol class='rules'>\n" + "\n".join(notes) + "\n</ol>\n</body></html>\n"
    )
