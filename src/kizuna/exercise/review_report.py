"""The after-action review as documents: a self-contained HTML page, an Excel workbook, and a PDF.

The HTML embeds its figures as PNG (measured path times over the simulated distributions; bottlenecks
measured against simulated); long tables are cut in the page and given whole in the workbook.
"""

from __future__ import annotations

import base64
import io
import math
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kizuna.exercise.aar import Review

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Rows of a long table the page shows (the workbook has them all).
PAGE_ROWS = 200


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _h(hours: float | None) -> str:
    if hours is None or not math.isfinite(hours):
        return "—"
    if hours < 1:
        return f"{hours * 60:.0f} min"
    return f"{hours:.2f} h"


def _pct(p: float | None) -> str:
    if p is None or not math.isfinite(p):
        return "—"
    return f"{100 * p:.0f}%"


def _yes(flag: bool | None) -> str:
    return "—" if flag is None else ("yes" if flag else "no")


def figures(review: Review) -> dict[str, str]:
    """Draw the review's figures; return them as PNG data URIs."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    out: dict[str, str] = {}
    by_request: dict[str, list[Any]] = defaultdict(list)
    for c in review.paths:
        if c.step == "effect":
            by_request[c.request].append(c)
    if by_request:
        fig = Figure(figsize=(10, 0.6 + 0.55 * len(by_request)), layout="constrained")
        ax = fig.add_subplot()
        for k, (_request, rows) in enumerate(sorted(by_request.items())):
            lo = min(r.simulated.p05 for r in rows)
            hi = max(r.simulated.p95 for r in rows)
            mid = sorted(r.simulated.p50 for r in rows)[len(rows) // 2]
            ax.plot(
                [lo, hi],
                [k, k],
                color="#9bb0d0",
                linewidth=8,
                solid_capstyle="butt",
                label="simulated 5–95%" if k == 0 else None,
            )
            ax.plot(
                [mid],
                [k],
                marker="|",
                color="#1f3864",
                markersize=16,
                label="simulated median" if k == 0 else None,
            )
            xs = [r.measured_h for r in rows if r.measured_h is not None]
            ax.scatter(
                xs, [k] * len(xs), color="#c0392b", zorder=3, s=14, label="measured" if k == 0 else None
            )
        ax.set_yticks(range(len(by_request)), sorted(by_request))
        ax.set_xlabel("hours from filing to effect")
        ax.set_xscale("log")
        ax.legend(loc="lower right", fontsize=8)
        out["paths"] = _png(fig)
    if review.bottlenecks:
        top = review.bottlenecks[:12]
        fig = Figure(figsize=(10, 0.6 + 0.35 * len(top)), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(top)))
        ax.barh(
            [y + 0.2 for y in ys],
            [b.simulated_share for b in top],
            height=0.4,
            color="#9bb0d0",
            label="simulated",
        )
        ax.barh(
            [y - 0.2 for y in ys],
            [b.measured_share for b in top],
            height=0.4,
            color="#c0392b",
            label="measured",
        )
        ax.set_yticks(ys, [b.organization for b in top])
        ax.invert_yaxis()
        ax.set_xlabel("share of the time on critical paths")
        ax.legend(loc="lower right", fontsize=8)
        out["bottlenecks"] = _png(fig)
    return out


def render_html(review: Review, *, banner: str = "EXERCISE", prior_weight: float = 5.0) -> str:
    """Render the review as one self-contained HTML page."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("kizuna.exercise", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    template = env.get_template("aar.html.j2")
    return template.render(
        r=review,
        banner=banner,
        figures=figures(review),
        paths=review.paths[:PAGE_ROWS],
        paths_cut=max(0, len(review.paths) - PAGE_ROWS),
        steps=review.steps[:PAGE_ROWS],
        steps_cut=max(0, len(review.steps) - PAGE_ROWS),
        timeline=review.timeline[:PAGE_ROWS],
        timeline_cut=max(0, len(review.timeline) - PAGE_ROWS),
        weight=f"{prior_weight:g}",
        h=_h,
        pct=_pct,
        yes=_yes,
    )


def write_html(review: Review, path: Path, *, banner: str = "EXERCISE") -> Path:
    """Write the review's HTML page."""
    path.write_text(render_html(review, banner=banner), encoding="utf-8")
    return path


def write_pdf(review: Review, path: Path, *, banner: str = "EXERCISE") -> Path:
    """Write the review as PDF (the HTML page laid out by WeasyPrint)."""
    from kizuna.report.pdf import html_to_pdf

    html_to_pdf(render_html(review, banner=banner), path)
    return path


def write_xlsx(review: Review, path: Path, *, banner: str = "EXERCISE") -> Path:
    """Write the review as a workbook: one sheet per table, every row."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    summary = book.active
    assert summary is not None
    summary.title = "Summary"
    rows: list[list[Any]] = [
        ["Marking", banner],
        ["Exercise", review.exercise],
        ["Name", review.name],
        ["Scenario", review.scenario],
        ["Structure", review.structure],
        ["Start", review.start.isoformat()],
        ["Exercise hours recorded", round(review.end_h, 3)],
        ["Replications (seed)", f"{review.replications} ({review.seed})"],
        ["Tests", len(review.tests)],
        ["Rejected at the family-wise level", sum(t.reject for t in review.tests)],
        ["Verdict", "agree" if review.agrees else "disagree"],
        *(["Note", n] for n in review.notes),
    ]
    for row in rows:
        summary.append(row)

    def sheet(title: str, header: list[str], rows: list[list[Any]]) -> None:
        ws = book.create_sheet(title)
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(row)
        ws.freeze_panes = "A2"

    def comparison(c: Any) -> list[Any]:
        return [
            c.request,
            c.serial,
            c.live,
            c.step,
            c.organization,
            c.kind,
            c.measured_h,
            c.simulated.mean,
            c.simulated.p05,
            c.simulated.p50,
            c.simulated.p95,
            c.percentile,
            c.inside_90,
        ]

    head = [
        "request",
        "serial",
        "live request",
        "step",
        "organization",
        "kind",
        "measured h",
        "sim mean h",
        "sim p5 h",
        "sim p50 h",
        "sim p95 h",
        "percentile",
        "inside 90%",
    ]
    sheet("Paths", head, [comparison(c) for c in review.paths])
    sheet("Steps", head, [comparison(c) for c in review.steps])
    sheet(
        "Tests",
        [
            "request",
            "step",
            "n measured",
            "n simulated",
            "median measured h",
            "median simulated h",
            "KS D",
            "KS p",
            "AD statistic",
            "AD p",
            "reject",
        ],
        [
            [
                t.request,
                t.step,
                t.n_measured,
                t.n_simulated,
                t.measured_median_h,
                t.simulated_median_h,
                t.ks_statistic,
                t.ks_p,
                t.ad_statistic,
                t.ad_p,
                t.reject,
            ]
            for t in review.tests
        ],
    )
    sheet(
        "Bottlenecks",
        [
            "organization",
            "measured share",
            "simulated share",
            "mean step measured h",
            "mean step simulated h",
        ],
        [
            [b.organization, b.measured_share, b.simulated_share, b.measured_mean_h, b.simulated_mean_h]
            for b in review.bottlenecks
        ],
    )
    sheet(
        "Deadlines",
        ["request", "serial", "name", "of", "due H+", "done H+", "met", "simulated P(met)"],
        [
            [
                d.request,
                d.serial,
                d.name,
                d.of,
                d.due_h,
                d.at_h,
                d.met,
                d.p_simulated if math.isfinite(d.p_simulated) else None,
            ]
            for d in review.deadlines
        ],
    )
    sheet(
        "Timeline",
        ["H+", "exercise time", "what", "text", "who"],
        [[e.hours, e.time.isoformat(), e.what, e.text, e.who] for e in review.timeline],
    )
    sheet(
        "Observations",
        ["objective", "H+", "rating", "observation", "by"],
        [[k, o.hours, o.rating, o.text, o.author] for k, items in review.observations.items() for o in items],
    )
    sheet(
        "Calibration",
        [
            "organization",
            "kind",
            "n",
            "scenario mean h",
            "scenario cv",
            "measured mean h",
            "calibrated mean h",
            "calibrated cv",
        ],
        [
            [c.organization, c.kind, c.n, c.prior_mean_h, c.prior_cv, c.measured_mean_h, c.mean_h, c.cv]
            for c in review.calibration
        ],
    )
    book.save(path)
    return path
