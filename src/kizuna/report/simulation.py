"""The simulation report: one self-contained HTML page per scenario run, with its figures embedded.

What a reader finds, in order: the scenario and run; times to decision and to effect per request and
structure; their distributions; deadline probabilities; the structure comparison with effect sizes; the
bottleneck organizations (utilization, and their share of the delay split into queueing, work and waiting
for duty hours); the Gantt chart of a median replication under each structure; critical steps; the model
set beside observed timelines; and the decision paths themselves with their approvals and citations.

Figures are drawn with matplotlib's Agg canvas (no display) and embedded as base64 PNG, so the page is a
single file that opens anywhere.
"""

from __future__ import annotations

import base64
import io
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kizuna.model.scenario import Observation, Scenario, local_time
from kizuna.planning.path import DecisionPath
from kizuna.sim.result import GanttBar, RequestStats, SimResult, bin_edges

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from kizuna.model.structure import Structure
    from kizuna.report.findings import Finding

#: Colors of the structures, in the order the scenario lists them (colorblind-safe Okabe-Ito).
STRUCTURE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442")
#: Colors of the parts of a delay.
QUEUE_COLOR, WORK_COLOR, DUTY_COLOR, LINK_COLOR = "#9ecae1", "#3182bd", "#fd8d3c", "#bdbdbd"

#: Paths by structure id, then by request id.
Paths = Mapping[str, Mapping[str, DecisionPath]]


def compile_paths(
    scenario: Scenario, structures: Sequence[str] | None = None
) -> dict[str, dict[str, DecisionPath]]:
    """Compile every request of an organizational scenario under each of its structures (or `structures`).

    Raises:
        DataError, UnknownId, InvalidQuery: as `kizuna.planning.compile_request`.
    """
    from kizuna.authority import load_frameworks
    from kizuna.model.loading import load_structure, resolve
    from kizuna.planning import compile_request

    if scenario.network is not None:
        return {}
    base = Path(scenario.file).parent if scenario.file else None
    refs = list(structures) if structures else list(scenario.structures)
    fw_refs = [
        str(resolve(f, kind="frameworks", relative_to=base)) if f.endswith((".yaml", ".yml")) else f
        for f in scenario.frameworks
    ]
    frameworks = load_frameworks(*fw_refs)
    out: dict[str, dict[str, DecisionPath]] = {}
    for ref in refs:
        structure = load_structure(resolve(ref, relative_to=base))
        out[structure.id] = {r.id: compile_request(structure, frameworks, r) for r in scenario.requests}
    return out


# -- units and small helpers ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Unit:
    """The time unit a figure or table is drawn in."""

    name: str
    per_hour: float

    def __call__(self, hours: float) -> float:
        return hours * self.per_hour


HOURS, MINUTES = Unit("h", 1.0), Unit("min", 60.0)


def unit_for(values_h: Sequence[float]) -> Unit:
    """Choose minutes when every finite value is under two hours, hours otherwise."""
    finite = [v for v in values_h if math.isfinite(v)]
    return MINUTES if finite and max(finite) < 2.0 else HOURS


def fmt_time(hours: float | None, unit: Unit = HOURS) -> str:
    """Format a duration in the unit (an em dash for a missing value)."""
    if hours is None or not math.isfinite(hours):
        return "—"
    value = unit(hours)
    return f"{value:.1f} {unit.name}" if value < 100 else f"{value:.0f} {unit.name}"


def fmt_p(p: float | None) -> str:
    """Format a probability as a percentage."""
    if p is None or not math.isfinite(p):
        return "—"
    return f"{100 * p:.0f}%"


def figure_png(fig: Figure, *, dpi: int = 110) -> str:
    """Return a figure as a base64 PNG data URI."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _color(index: int) -> str:
    return STRUCTURE_COLORS[index % len(STRUCTURE_COLORS)]


def _quantile(stats: RequestStats, of: str, q: float) -> float:
    return stats.quantile(of, q)


# -- figures ------------------------------------------------------------------------------------------


def distribution_figure(result: SimResult, scenario: Scenario) -> Figure:
    """Draw, per request, the cumulative distribution of time to decision and to effect per structure.

    One row per request, decision on the left and effect on the right; the x axis is logarithmic, since
    requests differ by orders of magnitude. Observed timelines are shaded, deadlines relative to filing
    drawn as dashed lines.
    """
    from matplotlib.figure import Figure

    structures = list(result.structures)
    requests = _simulated_requests(result, scenario)
    rows = max(len(requests), 1)
    fig = Figure(figsize=(11.0, 2.5 * rows + 0.8), layout="constrained")
    axes = fig.subplots(rows, 2, squeeze=False)
    for r, request in enumerate(requests):
        all_values = [
            result.structures[s].requests[request].effect.p99_h
            for s in structures
            if request in result.structures[s].requests
        ]
        unit = unit_for(all_values)
        for c, of in enumerate(("decision", "effect")):
            _cdf_panel(axes[r][c], result, scenario, request, of=of, unit=unit)
        axes[r][0].legend(fontsize=7, loc="lower right")
    if not requests:
        axes[0][0].text(0.5, 0.5, "no request was simulated", ha="center", transform=axes[0][0].transAxes)
    return fig


def _cdf_panel(ax: Axes, result: SimResult, scenario: Scenario, request: str, *, of: str, unit: Unit) -> None:
    """Draw one request's cumulative distribution of time to `of` under every structure."""
    edges = bin_edges()
    lo_hi: list[float] = []
    for k, (sid, sres) in enumerate(result.structures.items()):
        stats = sres.requests.get(request)
        if stats is None:
            continue
        hist = stats.hist_decision if of == "decision" else stats.hist_effect
        total = hist.sum()
        if total == 0:
            continue
        cdf = np.cumsum(hist) / total
        x = edges[1:-1] * unit.per_hour
        y = cdf[:-1]
        keep = (y > 0.0005) & (y < 0.9995)
        if not keep.any():
            keep = y > 0
        first = max(int(np.argmax(keep)) - 1, 0)
        last = min(len(y) - int(np.argmax(keep[::-1])), len(y) - 1)
        window = np.arange(first, last + 1)
        changes = window[np.r_[True, np.diff(y[window]) != 0]]  # one vertex per step of the CDF
        ax.step(x[changes], y[changes], where="post", color=_color(k), label=sid)
        lo_hi += [float(x[first]), float(x[last])]
        ax.plot([unit(getattr(stats, of).p50_h)], [0.5], "o", color=_color(k), markersize=4)
    shown = [o for o in scenario.observed if o.request == request and o.of == of]
    for i, obs in enumerate(shown):
        _shade_observation(ax, obs, unit, label_y=0.97 - 0.09 * i)
        lo_hi += [unit(obs.low_h), unit(obs.high_h)]
    for name, after_h in _relative_deadlines(scenario, request, of):
        ax.axvline(unit(after_h), color="black", linestyle="--", linewidth=0.8)
        ax.text(unit(after_h), 0.02, f" {name}", rotation=90, fontsize=7, va="bottom")
        lo_hi.append(unit(after_h))
    positive = [v for v in lo_hi if v > 0]
    if positive:
        _log_axis(ax)
        ax.set_xlim(min(positive) / 1.3, max(positive) * 1.3)
    ax.set_ylim(0, 1)
    ax.grid(True, which="both", alpha=0.25)
    ax.set_ylabel("share done")
    ax.set_xlabel(f"time to {of} after filing ({unit.name}, log scale)")
    name = next((r.name for r in scenario.requests if r.id == request and r.name), request)
    ax.set_title(f"{textwrap.shorten(name, 70)}: time to {of}", fontsize=10, loc="left")


def _log_axis(ax: Axes) -> None:
    """Use a log x axis labelled with plain numbers at 1-2-5 steps."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _shade_observation(ax: Axes, obs: Observation, unit: Unit, *, label_y: float = 0.97) -> None:
    lo, hi = unit(obs.low_h), unit(obs.high_h)
    color = "#555555" if obs.kind == "observed" else "#aaaaaa"
    if hi > lo * 1.02:
        ax.axvspan(lo, hi, color=color, alpha=0.18, linewidth=0)
    else:
        ax.axvline(lo, color=color, linewidth=2.0, alpha=0.7)
    ax.text(
        hi, label_y, f" {obs.kind}", fontsize=7, va="top", color="#333333", transform=ax.get_xaxis_transform()
    )


def _relative_deadlines(scenario: Scenario, request: str, of: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    for inject in scenario.injects:
        for entry in inject.requests:
            if entry.request != request:
                continue
            for d in entry.deadlines:
                if d.of == of and d.after_h is not None and (d.name, d.after_h) not in out:
                    out.append((d.name, d.after_h))
    return out


def _simulated_requests(result: SimResult, scenario: Scenario) -> list[str]:
    seen: list[str] = []
    order = [r.id for r in scenario.requests] if scenario.requests else []
    for sres in result.structures.values():
        for rid in sres.requests:
            if rid not in seen:
                seen.append(rid)
    return sorted(seen, key=lambda r: order.index(r) if r in order else len(order))


def bottleneck_figure(
    result: SimResult, *, top: int = 10, models: Mapping[str, Structure] | None = None
) -> Figure:
    """Draw, per structure, the organizations with the largest share of the delay on critical paths.

    Each bar is split into queueing (waiting for a free server), work and waiting for duty hours; the
    utilization (work / staff time available) is written beside it. Communication links get a bar of their
    own.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    structures = list(result.structures)
    fig = Figure(figsize=(5.2 * len(structures) + 0.6, 0.42 * (top + 1) + 1.6), layout="constrained")
    axes = fig.subplots(1, len(structures), squeeze=False)[0]
    for ax, sid in zip(axes, structures, strict=True):
        sres = result.structures[sid]
        orgs = [o for o in sres.organizations.values() if math.isfinite(o.delay_share) and o.delay_share > 0]
        orgs.sort(key=lambda o: -o.delay_share)
        orgs = orgs[:top]
        names = {o.id: _short(o.name) for o in models[sid].organizations} if models and sid in models else {}
        labels = [names.get(o.organization, o.organization) for o in orgs]
        rows = list(range(len(orgs)))[::-1]
        for row, org in zip(rows, orgs, strict=True):
            parts = [
                (org.delay_share * _z(org.queue_share), QUEUE_COLOR),
                (org.delay_share * _z(org.work_share), WORK_COLOR),
                (org.delay_share * _z(org.duty_share), DUTY_COLOR),
            ]
            left = 0.0
            for width, color in parts:
                ax.barh(row, width, left=left, color=color, height=0.7)
                left += width
            util = f"u={org.utilization:.2f}" if math.isfinite(org.utilization) else ""
            ax.text(left, row, f" {100 * org.delay_share:.0f}%  {util}", va="center", fontsize=7)
        link_row = -1
        if math.isfinite(sres.links_share) and sres.links_share > 0:
            ax.barh(link_row, sres.links_share, color=LINK_COLOR, height=0.7)
            ax.text(sres.links_share, link_row, f" {100 * sres.links_share:.0f}%", va="center", fontsize=7)
            ax.set_yticks([*rows, link_row], [*labels, "(communication links)"], fontsize=8)
        else:
            ax.set_yticks(rows, labels, fontsize=8)
        ax.set_xlabel("share of the time on critical paths")
        ax.set_title(sid, fontsize=10)
        xmax = max(
            [o.delay_share for o in orgs] + [sres.links_share if math.isfinite(sres.links_share) else 0]
        )
        ax.set_xlim(0, max(xmax, 0.01) * 1.45)
        ax.grid(True, axis="x", alpha=0.25)
    fig.legend(
        handles=[
            Patch(color=QUEUE_COLOR, label="queueing for staff"),
            Patch(color=WORK_COLOR, label="work"),
            Patch(color=DUTY_COLOR, label="waiting for duty hours / call-in"),
            Patch(color=LINK_COLOR, label="communication links"),
        ],
        loc="outside lower center",
        ncol=4,
        fontsize=8,
    )
    return fig


def _z(x: float) -> float:
    return x if math.isfinite(x) else 0.0


#: How a Gantt row names what an organization does at a step, by step kind (and the relay verb).
_KIND_WORDS = {
    "coordinate": "coordinates",
    "consult": "deliberates",
    "approve": "decides",
    "order": "orders",
    "execute": "acts",
    "inform": "informs",
}


def gantt_window(bar_sets: Sequence[Sequence[GanttBar]]) -> tuple[float, float]:
    """Return one time window (hours after the start) for the Gantt charts of every structure.

    From the earliest arrival to a little after the last step anything waits on (steps that may come
    after the effect, such as ex post approvals, can run for days: their bars are cut at the window's end).
    """
    bars = [b for bars in bar_sets for b in bars]
    if not bars:
        return 0.0, 1.0
    critical_end = max((b.end_h for b in bars if b.critical), default=max(b.end_h for b in bars))
    horizon = max(critical_end, *(b.begin_h for b in bars))
    first = min(b.arrive_h for b in bars)
    return first, horizon + 0.06 * max(horizon - first, 0.5)


def _short(name: str) -> str:
    """A name without its parenthetical, for a chart's row label."""
    return name.split(" (", maxsplit=1)[0]


def gantt_figure(
    bars: Sequence[GanttBar],
    *,
    title: str,
    start: datetime | None = None,
    window: tuple[float, float] | None = None,
    org_names: Mapping[str, str] | None = None,
    request_names: Mapping[str, str] | None = None,
    max_rows: int = 90,
) -> Figure:
    """Draw the Gantt chart of one replication: a row per step, grouped by request, in time order.

    Rows name the organization and what it does there ("National Security Council — deliberates"),
    requests are told apart by colour with their names in the legend. The light part of a bar is queueing
    for staff, the orange part waiting for duty hours (or the call-in), the dark part work; steps on the
    request's critical path are outlined. With `start`, the axis is the local date and time of the
    scenario's zone, ticked at whole hours, days or weeks; `window` (hours after the start) gives every
    structure's chart the same scale. Only the first `max_rows` steps (in time) are drawn.
    """
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    org_names = org_names or {}
    request_names = request_names or {}
    rows = _gantt_rows(bars)
    if len(rows) > max_rows:
        title += f" (the first {max_rows} of {len(rows)} steps)"
        rows = sorted(sorted(rows, key=lambda b: b.arrive_h)[:max_rows], key=rows.index)
    height = 0.26 * max(len(rows), 1) + 2.0
    fig = Figure(figsize=(12.0, height), layout="constrained")
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "no steps", ha="center", va="center", transform=ax.transAxes)
        return fig
    requests = list(dict.fromkeys(b.request for b in rows))
    palette = [_color(i) for i in range(len(requests))]
    first, horizon = window or gantt_window([rows])

    if start is not None:

        def x(hours: float) -> float:
            return float(mdates.date2num(local_time(start, hours)))  # type: ignore[no-untyped-call]

        def width(h0: float, h1: float) -> float:
            return (h1 - h0) / 24.0  # matplotlib dates count days

    else:

        def x(hours: float) -> float:
            return hours

        def width(h0: float, h1: float) -> float:
            return h1 - h0

    for y, bar in enumerate(rows):
        color = palette[requests.index(bar.request) % len(palette)]
        end = min(bar.end_h, horizon)
        if bar.ready_h > bar.arrive_h:
            ax.barh(y, width(bar.arrive_h, bar.ready_h), left=x(bar.arrive_h), color=QUEUE_COLOR, height=0.7)
        if bar.begin_h > bar.ready_h:
            ax.barh(y, width(bar.ready_h, bar.begin_h), left=x(bar.ready_h), color=DUTY_COLOR, height=0.7)
        ax.barh(
            y,
            max(width(bar.begin_h, end), 1e-9),
            left=x(bar.begin_h),
            color=color,
            height=0.7,
            edgecolor="black" if bar.critical else "none",
            linewidth=0.9,
        )
        if bar.end_h > horizon:
            ax.text(
                x(horizon),
                y,
                f"→ ends {fmt_time(bar.end_h - bar.begin_h)} later ",
                ha="right",
                va="center",
                fontsize=7,
            )
    ax.set_xlim(x(first) - 0.01 * (x(horizon) - x(first)), x(horizon))
    labels = [
        f"{_short(org_names.get(b.organization, b.organization))} — {_KIND_WORDS.get(b.kind, b.kind)}"
        for b in rows
    ]
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    for tick, bar in zip(ax.get_yticklabels(), rows, strict=True):
        tick.set_color(palette[requests.index(bar.request) % len(palette)])
    ax.invert_yaxis()
    ax.grid(True, axis="x", alpha=0.3)
    ax.set_title(textwrap.fill(title, 120), fontsize=10, loc="left")
    _time_axis(ax, start)
    handles = [
        Patch(color=palette[i % len(palette)], label=textwrap.shorten(request_names.get(req, req), 60))
        for i, req in enumerate(requests)
    ]
    handles += [
        Patch(color=QUEUE_COLOR, label="waiting for staff"),
        Patch(color=DUTY_COLOR, label="waiting for duty hours / call-in"),
        Patch(facecolor="white", edgecolor="black", label="on the critical path"),
    ]
    fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=min(len(handles), 3))
    return fig


def _time_axis(ax: Axes, start: datetime | None) -> None:
    """Tick a Gantt chart's time axis: local dates and times at whole hours or days, or hours from 0."""
    if start is not None:
        from matplotlib import dates as mdates
        from matplotlib.ticker import FuncFormatter

        zone = start.tzinfo
        locator = mdates.AutoDateLocator(tz=zone, minticks=5, maxticks=12)  # type: ignore[no-untyped-call]
        locator.intervald[mdates.HOURLY] = [1, 2, 3, 6, 12]  # whole hours a reader counts in

        def label(value: float, _: object) -> str:
            when: datetime = mdates.num2date(value, tz=zone)  # type: ignore[no-untyped-call]
            return when.strftime("%a %d %b" if (when.hour, when.minute) == (0, 0) else "%a %H:%M")

        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(FuncFormatter(label))
        ax.tick_params(axis="x", labelsize=7)
        name = getattr(zone, "key", None) or start.tzname()  # "EST" would be wrong after a clock change
        ax.set_xlabel(f"local time ({name}); the scenario starts {start:%a %d %b %Y %H:%M %Z}")
    else:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 2.5, 3, 5, 6, 10]))
        ax.set_xlabel("hours after the start")


def _gantt_rows(bars: Sequence[GanttBar]) -> list[GanttBar]:
    first: dict[str, float] = {}
    for b in bars:
        first[b.instance] = min(first.get(b.instance, math.inf), b.arrive_h)
    return sorted(bars, key=lambda b: (first[b.instance], b.instance, b.begin_h, b.end_h))


def deadline_figure(result: SimResult) -> Figure | None:
    """Draw the probability of meeting each deadline, grouped by deadline, one bar per structure."""
    from matplotlib.figure import Figure

    structures = list(result.structures)
    keys: list[tuple[str, str]] = []
    for sres in result.structures.values():
        for rid, stats in sres.requests.items():
            for name in stats.deadlines:
                if (rid, name) not in keys:
                    keys.append((rid, name))
    if not keys:
        return None
    fig = Figure(
        figsize=(11.0, 0.55 * len(keys) * max(len(structures), 1) * 0.45 + 1.6), layout="constrained"
    )
    ax = fig.add_subplot()
    height = 0.8 / max(len(structures), 1)
    for k, sid in enumerate(structures):
        values = []
        for rid, name in keys:
            found = result.structures[sid].requests.get(rid)
            values.append(found.deadlines.get(name, math.nan) if found else math.nan)
        ys = [i + k * height for i in range(len(keys))]
        ax.barh(ys, [_z(v) for v in values], height=height, color=_color(k), label=sid)
        for y, v in zip(ys, values, strict=True):
            ax.text(_z(v), y, f" {fmt_p(v)}", va="center", fontsize=7)
    ax.set_yticks(
        [i + height * (len(structures) - 1) / 2 for i in range(len(keys))],
        [f"{rid}\n{name}" for rid, name in keys],
        fontsize=7,
    )
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel("probability of meeting the deadline")
    ax.grid(True, axis="x", alpha=0.25)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def comparison_figure(result: SimResult) -> Figure | None:
    """Draw each structure's difference in mean time to effect from the first one, with 95% intervals."""
    from matplotlib.figure import Figure

    comps = [c for c in result.comparisons() if math.isfinite(c.diff_mean_h)]
    if not comps:
        return None
    structures = list(result.structures)
    unit = unit_for([abs(c.diff_mean_h) for c in comps] + [abs(c.ci_high_h) for c in comps])
    fig = Figure(figsize=(10.0, 0.35 * len(comps) + 1.6), layout="constrained")
    ax = fig.add_subplot()
    for y, c in enumerate(comps):
        color = _color(structures.index(c.a)) if c.a in structures else "black"
        ax.errorbar(
            unit(c.diff_mean_h),
            y,
            xerr=[[unit(c.diff_mean_h - c.ci_low_h)], [unit(c.ci_high_h - c.diff_mean_h)]],
            fmt="o",
            color=color,
            capsize=3,
        )
        ax.text(
            unit(c.diff_mean_h), y - 0.3, f"δ={c.cliffs_delta:+.2f}", fontsize=7, ha="center", color=color
        )
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(comps)), [f"{c.request}\n{c.a} − {c.b}" for c in comps], fontsize=7)
    ax.set_ylim(len(comps) - 0.5, -0.9)  # top down, with room for the first label
    ax.set_xlabel(f"difference in mean time to effect ({unit.name}); negative = faster than {structures[0]}")
    ax.grid(True, axis="x", alpha=0.25)
    return fig


def observed_figure(result: SimResult, scenario: Scenario) -> Figure | None:
    """Set the model beside each observed timeline: per structure the model's p10–p90 and median."""
    from matplotlib.figure import Figure

    obs = [o for o in scenario.observed if any(o.request in s.requests for s in result.structures.values())]
    if not obs:
        return None
    structures = list(result.structures)
    fig = Figure(figsize=(11.0, 1.1 * len(obs) + 1.2), layout="constrained")
    axes = fig.subplots(len(obs), 1, squeeze=False)[:, 0]
    for ax, o in zip(axes, obs, strict=True):
        values = [o.low_h, o.high_h]
        for sid in structures:
            st = result.structures[sid].requests.get(o.request)
            if st is not None:
                values += [_quantile(st, o.of, 0.1), _quantile(st, o.of, 0.9)]
        unit = unit_for(values)
        _shade_observation(ax, o, unit)
        for k, sid in enumerate(structures):
            st = result.structures[sid].requests.get(o.request)
            if st is None:
                continue
            p10, p50, p90 = (_quantile(st, o.of, q) for q in (0.1, 0.5, 0.9))
            ax.plot([unit(p10), unit(p90)], [k, k], color=_color(k), linewidth=3, solid_capstyle="butt")
            ax.plot([unit(p50)], [k], "o", color="white", markeredgecolor=_color(k), markersize=6)
        ax.set_yticks(range(len(structures)), structures, fontsize=7)
        ax.set_ylim(-0.7, len(structures) - 0.3)
        ax.invert_yaxis()
        positive = [unit(v) for v in values if math.isfinite(v) and v > 0]
        if positive and max(positive) / min(positive) > 20:
            _log_axis(ax)
        if positive:
            ax.set_xlim(min(positive) / 1.5 if ax.get_xscale() == "log" else 0, max(positive) * 1.15)
        ax.set_title(f"{o.request}, time to {o.of} — {o.name}", fontsize=8, loc="left")
        ax.set_xlabel(unit.name, fontsize=8)
        ax.grid(True, axis="x", alpha=0.25)
    return fig


# -- the page -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The report's figures as data URIs (None where a figure has nothing to show)."""

    distributions: str
    bottlenecks: str
    gantts: dict[str, str]
    deadlines: str | None
    comparison: str | None
    observed: str | None


def draw_figures(
    result: SimResult, scenario: Scenario, structures: Mapping[str, Structure] | None = None
) -> tuple[Figures, dict[str, Figure]]:
    """Draw every figure of the report; return them embedded and as Figure objects by name."""
    start = _start(scenario)
    figs: dict[str, Figure] = {
        "distributions": distribution_figure(result, scenario),
        "bottlenecks": bottleneck_figure(result, models=structures),
    }
    window = gantt_window([sres.gantt for sres in result.structures.values()])
    request_names = {r.id: r.name or r.id for r in scenario.requests}
    for sid, sres in result.structures.items():
        structure = (structures or {}).get(sid)
        figs[f"gantt-{sid}"] = gantt_figure(
            sres.gantt,
            title=f"{scenario.name} under {structure.name if structure else sid}: a median replication",
            start=start,
            window=window,
            org_names={o.id: o.name for o in structure.organizations} if structure else None,
            request_names=request_names,
        )
    optional: dict[str, Callable[[], Figure | None]] = {
        "deadlines": lambda: deadline_figure(result),
        "comparison": lambda: comparison_figure(result),
        "observed": lambda: observed_figure(result, scenario),
    }
    for name, draw in optional.items():
        fig = draw()
        if fig is not None:
            figs[name] = fig
    embedded = Figures(
        distributions=figure_png(figs["distributions"]),
        bottlenecks=figure_png(figs["bottlenecks"]),
        gantts={sid: figure_png(figs[f"gantt-{sid}"]) for sid in result.structures},
        deadlines=figure_png(figs["deadlines"]) if "deadlines" in figs else None,
        comparison=figure_png(figs["comparison"]) if "comparison" in figs else None,
        observed=figure_png(figs["observed"]) if "observed" in figs else None,
    )
    return embedded, figs


def _start(scenario: Scenario) -> datetime | None:
    if scenario.network is not None:
        return None
    return scenario.start


def report_context(
    result: SimResult, scenario: Scenario, paths: Paths, structures: Mapping[str, Structure] | None = None
) -> dict[str, Any]:
    """Return the data the HTML template renders (figures excluded)."""
    sids = list(result.structures)
    requests = _simulated_requests(result, scenario)
    names = {r.id: (r.name or r.id) for r in scenario.requests}
    summary = []
    for rid in [r.id for r in scenario.requests] or requests:
        per = []
        for sid in sids:
            st = result.structures[sid].requests.get(rid)
            path = paths.get(sid, {}).get(rid)
            if st is None:
                per.append(
                    {"structure": sid, "simulated": False, "prohibited": bool(path and path.prohibited)}
                )
                continue
            unit = unit_for([st.effect.p99_h])
            per.append(
                {
                    "structure": sid,
                    "simulated": True,
                    "decision_p50": fmt_time(st.decision.p50_h, unit),
                    "decision_mean": fmt_time(st.decision.mean_h, unit),
                    "effect_p50": fmt_time(st.effect.p50_h, unit),
                    "effect_mean": fmt_time(st.effect.mean_h, unit),
                    "effect_p90": fmt_time(st.effect.p90_h, unit),
                    "effect_p99": fmt_time(st.effect.p99_h, unit),
                    "deadlines": [(name, fmt_p(p)) for name, p in st.deadlines.items()],
                    "never": st.effect.never,
                }
            )
        summary.append({"id": rid, "name": names.get(rid, rid), "structures": per})
    orgs = {}
    for sid in sids:
        rows = sorted(
            result.structures[sid].organizations.values(),
            key=lambda o: -(o.delay_share if math.isfinite(o.delay_share) else -1),
        )
        orgs[sid] = [
            {
                "id": o.organization,
                "name": _org_name(structures, sid, o.organization),
                "servers": o.servers,
                "utilization": fmt_p(o.utilization),
                "delay_share": fmt_p(o.delay_share),
                "queue": fmt_p(o.queue_share),
                "work": fmt_p(o.work_share),
                "duty": fmt_p(o.duty_share),
                "mean_wait": fmt_time(o.mean_wait_h, unit_for([o.mean_wait_h])),
                "p_wait": fmt_p(o.p_wait),
            }
            for o in rows
        ]
    comparisons = [
        {
            "request": c.request,
            "a": c.a,
            "b": c.b,
            "diff": _signed_time(c.diff_mean_h),
            "ci": f"[{_signed_time(c.ci_low_h)}, {_signed_time(c.ci_high_h)}]",
            "delta": f"{c.cliffs_delta:+.2f}" if math.isfinite(c.cliffs_delta) else "—",
            "magnitude": _cliff_magnitude(c.cliffs_delta),
        }
        for c in result.comparisons()
    ]
    critical = []
    for sid in sids:
        for rid, steps in result.structures[sid].critical_steps.items():
            top = sorted(
                ((s, f) for s, f in steps.items() if math.isfinite(f) and f > 0), key=lambda x: -x[1]
            )
            compiled = paths.get(sid, {}).get(rid)
            label = {s.id: s.label for s in compiled.steps} if compiled is not None else {}
            critical.append(
                {
                    "structure": sid,
                    "request": rid,
                    "steps": [(s, label.get(s, ""), fmt_p(f)) for s, f in top[:6]],
                }
            )
    observed = []
    for o in scenario.observed:
        per_structure = []
        for sid in sids:
            st = result.structures[sid].requests.get(o.request)
            if st is None:
                per_structure.append((sid, "not simulated"))
                continue
            unit = unit_for([o.high_h, _quantile(st, o.of, 0.9)])
            p10, p50, p90 = (_quantile(st, o.of, q) for q in (0.1, 0.5, 0.9))
            per_structure.append(
                (sid, f"{fmt_time(p50, unit)} (p10–p90 {fmt_time(p10, unit)} – {fmt_time(p90, unit)})")
            )
        unit = unit_for([o.high_h])
        span = (
            fmt_time(o.low_h, unit)
            if o.low_h == o.high_h
            else f"{fmt_time(o.low_h, unit)} – {fmt_time(o.high_h, unit)}"
        )
        observed.append(
            {
                "name": o.name,
                "request": o.request,
                "of": o.of,
                "kind": o.kind,
                "span": span,
                "source": ", ".join(o.source) or (o.assumption or ""),
                "note": o.note or "",
                "model": per_structure,
            }
        )
    path_views = []
    for rid in [r.id for r in scenario.requests]:
        per = []
        for sid in sids:
            path = paths.get(sid, {}).get(rid)
            if path is None:
                continue
            number = {step.id: i + 1 for i, step in enumerate(path.order())}
            per.append(
                {
                    "structure": sid,
                    "prohibited": path.prohibited,
                    "approvals": list(path.approvals()),
                    "notes": list(path.notes),
                    "decision": path.decision_step,
                    "effect": path.effect_step,
                    "steps": [
                        {
                            "n": i + 1,
                            "id": s.id,
                            "org": s.organization,
                            "org_name": _org_name(structures, sid, s.organization),
                            "kind": s.kind.value,
                            "label": s.label,
                            "approval": s.approval or "",
                            "after": s.after_effect,
                            "predecessors": ", ".join(str(number[p]) for p in s.predecessors if p in number),
                            "citations": list(s.citations),
                            "end": "decision"
                            if s.id == path.decision_step
                            else ("effect" if s.id == path.effect_step else ""),
                        }
                        for i, s in enumerate(path.order())
                    ],
                }
            )
        path_views.append({"id": rid, "name": names.get(rid, rid), "structures": per})
    notes = [(sid, list(result.structures[sid].notes)) for sid in sids if result.structures[sid].notes]
    return {
        "scenario": scenario,
        "result": result,
        "structures": sids,
        "colors": {sid: _color(k) for k, sid in enumerate(sids)},
        "summary": summary,
        "organizations": orgs,
        "comparisons": comparisons,
        "critical": critical,
        "observed": observed,
        "paths": path_views,
        "notes": notes,
        "sources": _cited(scenario, paths, structures),
    }


def _cited(
    scenario: Scenario, paths: Paths, structures: Mapping[str, Structure] | None
) -> list[dict[str, Any]]:
    """Every document the report cites (step citations, observations, the scenario's own), resolved."""
    from kizuna.model.sources import cited_sources

    refs = [c for per in paths.values() for path in per.values() for s in path.steps for c in s.citations]
    refs += [r for o in scenario.observed for r in o.source]
    refs += list(scenario.sources)
    tables = [scenario.sources, *((s.sources for s in structures.values()) if structures else ())]
    return [
        {
            "key": source.key,
            "text": source.describe(),
            "url": source.url,
            "official": source.official,
            "note": " ".join(source.note.split()),
        }
        for source in cited_sources(refs, *tables)
    ]


def _org_name(structures: Mapping[str, Structure] | None, sid: str, org: str) -> str:
    if structures is None or sid not in structures:
        return org
    found = structures[sid].org_by_id.get(org)
    return found.name if found is not None else org


def _signed_time(hours: float) -> str:
    if not math.isfinite(hours):
        return "—"
    unit = unit_for([abs(hours)])
    return f"{unit(hours):+.1f} {unit.name}"


def _cliff_magnitude(delta: float) -> str:
    """Name the size of Cliff's delta with the usual thresholds (Romano et al. 2006)."""
    if not math.isfinite(delta):
        return ""
    d = abs(delta)
    if d < 0.147:
        return "negligible"
    if d < 0.33:
        return "small"
    if d < 0.474:
        return "medium"
    return "large"


def render_simulation_report(
    result: SimResult,
    scenario: Scenario,
    paths: Paths,
    *,
    structures: Mapping[str, Structure] | None = None,
    findings: Sequence[Finding] = (),
    expand_all: bool = False,
) -> str:
    """Return the self-contained HTML report of a simulation run.

    `expand_all` opens every collapsible section (the decision paths of every structure), as the PDF
    needs; a browser opens them itself when the page is printed (the print stylesheet and a
    `beforeprint` handler).
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("kizuna.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    figures, figs = draw_figures(result, scenario, structures)
    _close(figs)
    context = report_context(result, scenario, paths, structures)
    return env.get_template("simulation.html.j2").render(
        figures=figures, findings=[f.text() for f in findings], expand_all=expand_all, **context
    )


def _close(figs: Mapping[str, Figure]) -> None:
    for fig in figs.values():
        fig.clear()


def write_simulation_report(
    result: SimResult,
    scenario: Scenario,
    paths: Paths,
    out: str | Path | None,
    *,
    structures: Mapping[str, Structure] | None = None,
    findings: Sequence[Finding] = (),
    pdf: str | Path | None = None,
) -> list[Path]:
    """Write the HTML report to `out` and/or the PDF to `pdf` (folders are created); return the paths."""
    written = []
    if out is not None:
        target = Path(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        html = render_simulation_report(result, scenario, paths, structures=structures, findings=findings)
        target.write_text(html, encoding="utf-8")
        written.append(target)
    if pdf is not None:
        from kizuna.report.pdf import html_to_pdf

        html = render_simulation_report(
            result, scenario, paths, structures=structures, findings=findings, expand_all=True
        )
        html_to_pdf(html, Path(pdf))
        written.append(Path(pdf))
    return written


def save_figures(result: SimResult, scenario: Scenario, folder: str | Path, *, dpi: int = 110) -> list[Path]:
    """Write every figure of the report as a PNG file in `folder` (to look at them one by one)."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    _, figs = draw_figures(result, scenario, report_structures(result, scenario))
    written = []
    for name, fig in figs.items():
        path = target / f"{scenario.id}-{name}.png"
        fig.savefig(path, dpi=dpi)
        written.append(path)
    _close(figs)
    return written


def report_structures(result: SimResult, scenario: Scenario) -> dict[str, Structure]:
    """Load the structures a run simulated (none for a network scenario), by id."""
    from kizuna.model.loading import load_structure, resolve

    if scenario.network is not None:
        return {}
    base = Path(scenario.file).parent if scenario.file else None
    return {sid: load_structure(resolve(sid, relative_to=base)) for sid in result.structures}


def write_report(
    result: SimResult,
    scenario: Scenario,
    out: str | Path | None,
    *,
    pdf: str | Path | None = None,
    findings: Sequence[Finding] | None = None,
) -> list[Path]:
    """Compile the decision paths of the simulated structures and write the report (HTML and/or PDF).

    `findings` are the run's flagged comparisons (`kizuna.report.findings.explain`); they are worked
    out here when not given.
    """
    structures = report_structures(result, scenario)
    if scenario.network is not None:
        return write_simulation_report(result, scenario, {}, out, pdf=pdf)
    if findings is None:
        from kizuna.report.findings import explain

        findings = explain(result, scenario, structures)
    paths = compile_paths(scenario, list(result.structures))
    return write_simulation_report(
        result, scenario, paths, out, structures=structures, findings=findings, pdf=pdf
    )


def simulate_and_report(
    scenario: str | Path,
    out: str | Path,
    *,
    replications: int = 10_000,
    seed: int = 0,
    structures: Sequence[str] | None = None,
    progress: Callable[[int], None] | None = None,
    pdf: str | Path | None = None,
) -> tuple[SimResult, list[Finding], Path]:
    """Simulate a scenario (bundled id or file), explain its surprising results, and write its report."""
    from kizuna.model.scenario import load_scenario
    from kizuna.report.findings import explain
    from kizuna.sim.runner import simulate

    loaded = load_scenario(scenario)
    result = simulate(loaded, replications=replications, seed=seed, structures=structures, progress=progress)
    findings = explain(result, loaded, report_structures(result, loaded)) if loaded.network is None else []
    written = write_report(result, loaded, out, pdf=pdf, findings=findings)
    return result, findings, written[0]


def headline_lines(result: SimResult) -> list[str]:
    """Return one line per request: median time to decision and to effect under each structure."""
    lines = []
    requests = list(dict.fromkeys(r for sres in result.structures.values() for r in sres.requests))
    for rid in requests:
        parts = []
        for sid, sres in result.structures.items():
            stats = sres.requests.get(rid)
            if stats is None:
                parts.append(f"{sid}: not simulated")
                continue
            unit = unit_for([stats.effect.p99_h])
            parts.append(
                f"{sid} {fmt_time(stats.decision.p50_h, unit)} / {fmt_time(stats.effect.p50_h, unit)}"
            )
        lines.append(f"{rid} (median decision / effect): " + "; ".join(parts))
    return lines
