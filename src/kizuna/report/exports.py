"""Tables planners open in a spreadsheet: simulation results, sweeps and rulings as CSV or Excel.

Each export is a set of named sheets (a header row and rows of plain values: numbers stay numbers, hours
are hours). An `.xlsx` file gets every sheet (openpyxl; bold frozen header, widths fitted to the
content); a `.csv` file gets the first sheet, the one a reader wants first (UTF-8 with a byte-order mark,
so Excel reads Japanese names right). Names sit beside ids wherever the data has them.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kizuna.errors import InvalidQuery

if TYPE_CHECKING:
    from kizuna.authority.matrix import Matrix
    from kizuna.authority.ruling import Ruling
    from kizuna.model.scenario import Scenario
    from kizuna.sim.result import SimResult
    from kizuna.sim.sweep import SweepResult

#: Table formats by file suffix.
TABLE_FORMATS = (".csv", ".xlsx")

Cell = str | float | int | None
#: Sheets by name: (header, rows).
Sheets = Mapping[str, tuple[Sequence[str], Sequence[Sequence[Cell]]]]


def _num(value: float | None) -> float | None:
    """A number for a cell: None (an empty cell) for NaN and infinities."""
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), 4)


def write_sheets(sheets: Sheets, out: str | Path) -> Path:
    """Write sheets to `out`: all of them to an .xlsx, the first to a .csv; return the path.

    Raises:
        InvalidQuery: the suffix is neither .csv nor .xlsx.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in TABLE_FORMATS:
        raise InvalidQuery(f"a table file ends in .csv or .xlsx (got {path.name!r})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        header, rows = next(iter(sheets.values()))
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(["" if c is None else c for c in row] for row in rows)
        return path
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    if book.active is not None:
        book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(title=name[:31])  # Excel's limit on a sheet's name
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        for index, title in enumerate(header, start=1):
            longest = max(
                [len(str(title))] + [len(str(r[index - 1])) for r in rows if r[index - 1] is not None]
            )
            sheet.column_dimensions[get_column_letter(index)].width = min(max(longest + 2, 8), 60)
    book.save(path)
    return path


# -- simulation ---------------------------------------------------------------------------------------


def simulation_sheets(result: SimResult, scenario: Scenario | None = None) -> dict[str, Any]:
    """The sheets of a simulation: per request and structure, per organization, and the comparisons."""
    names = {r.id: r.name or r.id for r in (scenario.requests if scenario else ())}
    summary_header = [
        "request",
        "request name",
        "structure",
        "replications",
        "decision mean (h)",
        "decision p50 (h)",
        "decision p90 (h)",
        "effect mean (h)",
        "effect mean s.e. (h)",
        "effect p50 (h)",
        "effect p90 (h)",
        "effect p99 (h)",
        "never completed",
        "deadlines met",
    ]
    summary: list[list[Cell]] = []
    for sid, sres in result.structures.items():
        for rid, st in sres.requests.items():
            summary.append(
                [
                    rid,
                    names.get(rid, rid),
                    sid,
                    result.replications,
                    _num(st.decision.mean_h),
                    _num(st.decision.p50_h),
                    _num(st.decision.p90_h),
                    _num(st.effect.mean_h),
                    _num(st.effect.se_h),
                    _num(st.effect.p50_h),
                    _num(st.effect.p90_h),
                    _num(st.effect.p99_h),
                    st.effect.never,
                    "; ".join(f"{n}: {100 * p:.1f}%" for n, p in st.deadlines.items()),
                ]
            )
    org_header = [
        "structure",
        "organization",
        "staff (servers)",
        "utilization",
        "share of delay",
        "queueing share",
        "work share",
        "duty-hours share",
        "mean wait (h)",
        "P(wait)",
        "visits",
    ]
    orgs = [
        [
            sid,
            o.organization,
            o.servers,
            _num(o.utilization),
            _num(o.delay_share),
            _num(o.queue_share),
            _num(o.work_share),
            _num(o.duty_share),
            _num(o.mean_wait_h),
            _num(o.p_wait),
            o.visits,
        ]
        for sid, sres in result.structures.items()
        for o in sres.organizations.values()
    ]
    comp_header = [
        "request",
        "structure",
        "against",
        "difference in mean time to effect (h)",
        "95% interval low (h)",
        "95% interval high (h)",
        "Cliff's delta",
    ]
    comps = [
        [c.request, c.a, c.b, _num(c.diff_mean_h), _num(c.ci_low_h), _num(c.ci_high_h), _num(c.cliffs_delta)]
        for c in result.comparisons()
    ]
    run = [
        ["scenario", result.scenario],
        ["replications per structure", result.replications],
        ["seed", result.seed],
    ]
    return {
        "times": (summary_header, summary),
        "organizations": (org_header, orgs),
        "comparisons": (comp_header, comps),
        "run": (["what", "value"], run),
    }


def write_simulation(result: SimResult, out: str | Path, scenario: Scenario | None = None) -> Path:
    """Write a simulation's results (.csv: the times; .xlsx: every sheet); return the path."""
    return write_sheets(simulation_sheets(result, scenario), out)


# -- sweeps -------------------------------------------------------------------------------------------


def sweep_sheets(result: SweepResult) -> dict[str, Any]:
    """The sheets of a sweep: the ranking (fitted and simulated), and every design point."""
    ranking_header = [
        "rank",
        "parameter",
        "low",
        "high",
        "fitted at low (h)",
        "fitted at high (h)",
        "fitted swing (h)",
        "simulated mean at low (h)",
        "95% low",
        "95% high",
        "simulated mean at high (h)",
        "95% low ",
        "95% high ",
        "Spearman rho",
    ]
    ranking = []
    for rank, e in enumerate(result.effects, start=1):
        lo, hi = e.low_interval, e.high_interval
        ranking.append(
            [
                rank,
                e.parameter,
                e.low,
                e.high,
                _num(e.at_low),
                _num(e.at_high),
                _num(e.swing),
                *(_num(v) for v in lo),
                *(_num(v) for v in hi),
                _num(e.spearman),
            ]
        )
    names = [f.parameter for f in result.factors]
    points_header = ["point", *names, f"{result.response} (h)", *result.extra]
    points = [
        [i, *(p[n] for n in names), _num(r), *(_num(v[i - 1]) for v in result.extra.values())]
        for i, (p, r) in enumerate(zip(result.points, result.responses, strict=True), start=1)
    ]
    return {"ranking": (ranking_header, ranking), "points": (points_header, points)}


def write_sweep(result: SweepResult, out: str | Path) -> Path:
    """Write a sweep (.csv: the ranking; .xlsx: the ranking and every design point); return the path."""
    return write_sheets(sweep_sheets(result), out)


# -- rulings ------------------------------------------------------------------------------------------


def rulings_sheets(
    items: Sequence[tuple[int, Mapping[str, Any], Ruling | None, str | None]],
) -> dict[str, Any]:
    """The sheet of a batch of rulings: one row per query, in input order, errors included."""
    header = [
        "line",
        "situation",
        "actor",
        "activity",
        "supported",
        "location",
        "flags",
        "granted",
        "outcome",
        "missing approvals (in order)",
        "approvals that may come after",
        "rules that fired",
        "citations",
        "error",
    ]
    rows: list[list[Cell]] = []
    for line, query, ruling, error in items:
        base: list[Cell] = [
            line,
            str(query.get("situation", "")),
            str(query.get("actor", "")),
            str(query.get("activity", "")),
            str(query.get("supported", "")),
            str(query.get("location", "")),
            " ".join(query.get("flags", []) or []),
            " ".join(query.get("granted", []) or []),
        ]
        if ruling is None:
            rows.append([*base, "error", "", "", "", "", error or ""])
            continue
        rows.append(
            [
                *base,
                ruling.outcome.value,
                " > ".join(ruling.missing),
                ", ".join(ruling.after),
                ", ".join(ruling.rule_ids),
                "; ".join(str(c) for c in ruling.citations),
                "",
            ]
        )
    return {"rulings": (header, rows)}


def write_rulings(
    items: Sequence[tuple[int, Mapping[str, Any], Ruling | None, str | None]], out: str | Path
) -> Path:
    """Write a batch of rulings as one sheet; return the path."""
    return write_sheets(rulings_sheets(items), out)


def matrix_sheets(matrix: Matrix) -> dict[str, Any]:
    """The authority matrix as a sheet: an activity per row, an actor per column, the outcome in each cell."""
    from kizuna.authority.matrix import cell_text

    header = ["activity", *matrix.actors]
    rows = [[act, *(cell_text(matrix.cell(a, act)) for a in matrix.actors)] for act in matrix.activities]
    return {"matrix": (header, rows), "context": (["context"], [[matrix.context]])}
