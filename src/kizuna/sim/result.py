"""Statistics of a simulation run: what each request took, where it waited, and how structures compare.

Workers reduce each block of replications to an `Accumulator` (counts, sums, log-binned histograms) and
return that, never raw arrays; accumulators merge exactly (integer counts add, floating sums are kept per
block and combined in block order), so results do not depend on how blocks were shared out.

**Standard errors are between replications.** Replications are independent; the filings of one request,
or the visits to one organization, within a replication are not (they share a queue). Every pooled
figure is a ratio of two per-replication totals, Σ_r S_r / Σ_r N_r (time summed over the filings of
replication r, over their number), and its standard error is the ratio estimator's, from the spread of
S_r − m N_r across replications (the batch means method with each replication as a batch). For one
filing (N_r = 1) this is the usual sd/√n.

**Quantiles** come from histograms with bins 1% wide on a log scale (from 0.36 s to 11 years) that also
keep the smallest and largest time in each bin. A quantile is interpolated between those two, so it lies
within the spread of the samples in its bin: exact when they are equal (a constant time, or one many
replications share, like a deterministic step after an office opening) and otherwise within 1% of the
sample quantile (the bin's width), typically far less. Means are exact. Every request type keeps its
histogram; single filings do for the first `INSTANCE_HISTOGRAMS` filings only.

Vocabulary of the output:

* time to **decision**: filing to the end of the path's decision step; time to **effect**: filing to the
  end of its effect (execution) step. `mean_h`, `p50_h`, `p90_h`, `p99_h` at the top level of a request
  are times to effect; the same figures for the decision are under `decision`.
* `p_deadline`: probability of meeting the request's first deadline (None without one); every deadline by
  name is under `deadlines`.
* per organization: `utilization` (work done in the organization's own observation window, from the
  first arrival of a counted step there to the last end, over servers x that window) and `delay_share`
  (the organization's share of the time on the requests' critical paths), split into `queue_share`,
  `work_share` and `duty_share` (waiting for office hours or call-in) of the organization's own critical
  time; `mean_wait_h` and `p_wait` (queueing for a server), each with its standard error; `links_share`
  is the part spent on communication links.
* `critical_steps`: per request, how often each of its steps lies on the longest path to the effect.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from kizuna.sim.engine import BlockOutcome, Compiled, EngineInput, critical_mask

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Histogram layout: bin 0 holds [0, T0), bin k holds [T0*G^(k-1), T0*G^k), the last bin overflows.
T0 = 1e-4
GROWTH = 1.01
BINS = math.ceil(math.log(1e5 / T0) / math.log(GROWTH)) + 2
_LOG_G = math.log(GROWTH)
_WAIT_EPS = 1e-9
#: Filings beyond this many (e.g. the 2,000 customers of a queueing check) keep exact means but no
#: histogram of their own (their quantiles are None); request types always keep theirs.
INSTANCE_HISTOGRAMS = 256


def bin_index(t: FloatArray) -> IntArray:
    """Return the histogram bin of each (finite, non-negative) time in hours."""
    with np.errstate(divide="ignore"):
        k = np.floor(np.log(np.maximum(t, 1e-300) / T0) / _LOG_G).astype(np.int64) + 1
    return np.clip(k, 0, BINS - 1)


def bin_edges() -> FloatArray:
    """Return the BINS + 1 edges of the histogram in hours (the last one is infinite)."""
    return _EDGES.copy()


_EDGES = np.concatenate([[0.0], T0 * GROWTH ** np.arange(BINS - 1), [np.inf]])


def hist_quantile(
    hist: IntArray, q: float, low: FloatArray | None = None, high: FloatArray | None = None
) -> float:
    """Return the q-quantile of a histogram, interpolating linearly inside the bin.

    With `low` and `high` (the smallest and largest sample in each bin) the interpolation runs between
    them, so a bin whose samples are all equal gives that value exactly; without them, between the bin's
    edges.
    """
    return hist_quantiles(hist, (q,), low, high)[0]


def hist_quantiles(
    hist: IntArray, qs: Sequence[float], low: FloatArray | None = None, high: FloatArray | None = None
) -> list[float]:
    """Return several quantiles of one histogram (see `hist_quantile`)."""
    total = int(hist.sum())
    if total == 0:
        return [math.nan for _ in qs]
    cum = np.cumsum(hist)
    targets = [q * total for q in qs]
    ks = np.minimum(np.searchsorted(cum, targets, side="left"), BINS - 1).tolist()
    out: list[float] = []
    for target, k in zip(targets, ks, strict=True):
        inside = int(hist[k])
        if low is not None and high is not None and inside > 0:
            lo, hi = float(low[k]), float(high[k])
        else:
            lo, hi = float(_EDGES[k]), float(_EDGES[k + 1])
            if not math.isfinite(hi):
                out.append(lo)
                continue
        before = int(cum[k - 1]) if k > 0 else 0
        frac = (target - before) / inside if inside else 0.5
        out.append(min(max(lo + (hi - lo) * min(max(frac, 0.0), 1.0), lo), hi))
    return out


def ratio_moments(sums: FloatArray, counts: FloatArray) -> FloatArray:
    """Reduce per-replication totals of one block to what the ratio estimator needs, row by row.

    `sums` and `counts` are (rows x lanes): per replication, the time summed over a row's filings (or
    visits) and their number. Returns (rows x 5): Σ S, Σ N, and, centred on the block's own ratio
    m_b = Σ S / Σ N, Σ (S - m_b N)², Σ N (S - m_b N) and Σ N² (`ratio_estimate` combines blocks).
    """
    s = sums.sum(axis=1)
    n = counts.sum(axis=1)
    m = np.divide(s, n, out=np.zeros_like(s), where=n > 0)
    resid = sums - m[:, None] * counts
    return np.stack(
        [
            s,
            n,
            np.einsum("ij,ij->i", resid, resid),
            np.einsum("ij,ij->i", counts, resid),
            np.einsum("ij,ij->i", counts, counts),
        ],
        axis=1,
    )


def ratio_estimate(parts: FloatArray, lanes: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Combine blocks' `ratio_moments` (blocks x rows x 5): each row's Σ S, Σ N and the standard error
    of the ratio m = Σ S / Σ N over all `lanes` replications.

    The standard error is the delta-method one, √(Σ_r (S_r - m N_r)² · R / (R - 1)) / Σ N: the
    between-replication standard error of a pooled mean. Each block's centred sums are moved from its
    own ratio m_b to m exactly: Σ (S - m N)² = Q_b + 2 (m_b - m) C_b + (m_b - m)² Σ N².
    """
    s_b, n_b, q_b, c_b, nn_b = (parts[..., j] for j in range(5))
    s = np.array([math.fsum(col) for col in s_b.T])
    n = np.array([math.fsum(col) for col in n_b.T])
    has = n > 0
    m = np.divide(s, n, out=np.zeros_like(s), where=has)
    m_b = np.divide(s_b, n_b, out=np.zeros_like(s_b), where=n_b > 0)
    dev = np.where(n_b > 0, m_b - m[None, :], 0.0)
    ss = np.maximum((q_b + 2.0 * dev * c_b + dev * dev * nn_b).sum(axis=0), 0.0)
    se = np.full(s.shape, math.nan)
    if lanes > 1:
        np.divide(np.sqrt(ss * lanes / (lanes - 1)), n, out=se, where=has)
    return s, n, se


# -- accumulation -----------------------------------------------------------------------------------------


@dataclass
class Accumulator:
    """Mergeable statistics of some blocks of one engine input."""

    n_templates: int
    n_instances: int
    n_stations: int
    ints: dict[str, IntArray]
    floats: dict[str, list[tuple[int, FloatArray]]]
    lows: dict[str, FloatArray] = field(default_factory=dict)  # smallest time in each histogram bin
    highs: dict[str, FloatArray] = field(default_factory=dict)  # largest time in each histogram bin
    gantt: tuple[GanttBar, ...] | None = None
    replications: int = 0
    cpu_s: float = 0.0
    peak_rss_kib: int = 0

    @classmethod
    def empty(cls, inp: EngineInput) -> Accumulator:
        """Return an accumulator with nothing added, shaped for `inp`."""
        t, i, s = len(inp.templates), len(inp.instances), len(inp.stations)
        h = min(i, INSTANCE_HISTOGRAMS)
        n_dead = sum(len(x.deadlines) for x in inp.instances)
        steps = sum(len(x.steps) for x in inp.templates)
        ints = {
            "inst_n": np.zeros(i, np.int64),
            "inst_never": np.zeros(i, np.int64),
            "inst_hist_dec": np.zeros((h, BINS), np.int64),
            "inst_hist_eff": np.zeros((h, BINS), np.int64),
            "type_hist_dec": np.zeros((t, BINS), np.int64),
            "type_hist_eff": np.zeros((t, BINS), np.int64),
            "deadline_met": np.zeros(n_dead, np.int64),
            "deadline_n": np.zeros(n_dead, np.int64),
            "st_visits": np.zeros(s, np.int64),
            "crit_steps": np.zeros(steps, np.int64),
            "unsettled": np.zeros(1, np.int64),
        }
        shapes = {"inst_dec": h, "inst_eff": h, "type_dec": t, "type_eff": t}
        lows = {k: np.full((rows, BINS), np.inf) for k, rows in shapes.items()}
        highs = {k: np.full((rows, BINS), -np.inf) for k, rows in shapes.items()}
        return cls(t, i, s, ints, {}, lows, highs)

    def _add_float(self, block: int, name: str, value: FloatArray | float) -> None:
        self.floats.setdefault(name, []).append((block, np.atleast_1d(np.asarray(value, np.float64))))

    def add(self, block: int, comp: Compiled, out: BlockOutcome) -> None:
        """Reduce one simulated block into the statistics."""
        inp = comp.inp
        n = out.n
        self.replications += n
        counted = np.array([x.counted for x in inp.instances], dtype=bool)
        rel = out.release
        released = np.isfinite(rel) & counted[:, None]
        dec = out.end[comp.decision_visit] - np.where(released, rel, 0.0)
        eff = out.end[comp.effect_visit] - np.where(released, rel, 0.0)
        done = released & np.isfinite(eff) & np.isfinite(dec)
        ints = self.ints
        ints["inst_n"] += done.sum(axis=1)
        ints["inst_never"] += (released & ~done).sum(axis=1)
        dec0 = np.where(done, dec, 0.0)
        eff0 = np.where(done, eff, 0.0)
        # One bincount for all rows: bin k of row r is counted at r * BINS + k.
        tmpl = np.array([x.template for x in inp.instances], dtype=np.int64)
        h = ints["inst_hist_dec"].shape[0]
        for kind, times in (("dec", dec0), ("eff", eff0)):
            bins = bin_index(times)
            flat = (bins + (tmpl * BINS)[:, None])[done]
            values = times[done]
            ints[f"type_hist_{kind}"] += np.bincount(flat, minlength=self.n_templates * BINS).reshape(
                self.n_templates, BINS
            )
            self._add_extremes(f"type_{kind}", flat, values)
            if h:
                head = done[:h]
                flat = (bins[:h] + (np.arange(h, dtype=np.int64) * BINS)[:, None])[head]
                ints[f"inst_hist_{kind}"] += np.bincount(flat, minlength=h * BINS).reshape(h, BINS)
                self._add_extremes(f"inst_{kind}", flat, times[:h][head])
        count = done.astype(np.float64)
        self._add_float(block, "inst_dec_sq", (dec0 * dec0).sum(axis=1))
        self._add_float(block, "inst_eff_sq", (eff0 * eff0).sum(axis=1))
        self._add_float(block, "inst_dec_m", ratio_moments(dec0, count).ravel())
        self._add_float(block, "inst_eff_m", ratio_moments(eff0, count).ravel())
        per_type = comp.per_template(count)
        self._add_float(block, "type_dec_m", ratio_moments(comp.per_template(dec0), per_type).ravel())
        self._add_float(block, "type_eff_m", ratio_moments(comp.per_template(eff0), per_type).ravel())

        self._add_deadlines(inp, comp, out, released)
        self._add_stations(block, comp, out, released, done)
        ints["unsettled"][0] += out.unsettled
        if block == 0 and self.gantt is None:
            self.gantt = _median_gantt(comp, out, eff, done)

    def _add_extremes(self, name: str, flat: IntArray, values: FloatArray) -> None:
        """Keep the smallest and largest time of each histogram bin (flat indices row * BINS + bin)."""
        np.minimum.at(self.lows[name].reshape(-1), flat, values)
        np.maximum.at(self.highs[name].reshape(-1), flat, values)

    def _add_deadlines(
        self, inp: EngineInput, comp: Compiled, out: BlockOutcome, released: BoolArray
    ) -> None:
        rel = out.release
        ints = self.ints
        k = 0
        for i, inst in enumerate(inp.instances):
            for d in inst.deadlines:
                visit = comp.decision_visit[i] if d.of == "decision" else comp.effect_visit[i]
                due = d.at_h if d.at_h is not None else rel[i] + (d.after_h or 0.0)
                ok = released[i]
                ints["deadline_n"][k] += int(ok.sum())
                ints["deadline_met"][k] += int((ok & (out.end[visit] <= due)).sum())
                k += 1

    def _add_stations(
        self, block: int, comp: Compiled, out: BlockOutcome, released: BoolArray, done: BoolArray
    ) -> None:
        """Queueing, utilization and critical time of every counted visit, by station; critical steps.

        A station's observation window, in each replication, runs from the first arrival of a counted
        visit there to the last end of one; utilization is the work done inside it (by any visit,
        warm-up included) over servers x its length.
        """
        inp = comp.inp
        ints = self.ints
        everything = bool(released.all()) and bool(np.isfinite(out.end).all())
        finite = np.isfinite(out.end) if not everything else None
        vis_ok = released[comp.visit_instance] & finite if finite is not None else None
        queue = out.ready - out.arrive
        duty = out.begin - out.ready
        work = out.end - out.begin
        if vis_ok is None:
            first = comp.per_station_reduce(out.arrive, np.minimum, np.inf)
            last = comp.per_station_reduce(out.end, np.maximum, -np.inf)
            busy = comp.per_station(work)
        else:
            queue = np.where(vis_ok, queue, 0.0)
            duty = np.where(vis_ok, duty, 0.0)
            work = np.where(vis_ok, work, 0.0)
            first = comp.per_station_reduce(np.where(vis_ok, out.arrive, np.inf), np.minimum, np.inf)
            last = comp.per_station_reduce(np.where(vis_ok, out.end, -np.inf), np.maximum, -np.inf)
            busy = comp.per_station_overlap(out.begin, out.end, first, last)
        servers = np.array([x.servers for x in inp.stations], dtype=np.float64)
        window = np.maximum(last - first, 0.0) * servers[:, None]
        self._add_float(block, "st_util_m", ratio_moments(busy, window).ravel())

        on = critical_mask(comp, out)
        if vis_ok is not None:
            on &= vis_ok
        st = comp.visit_station
        s_n = self.n_stations

        def per_station(per_visit: FloatArray) -> FloatArray:
            return np.asarray(np.bincount(st, weights=per_visit, minlength=s_n), dtype=np.float64)

        if vis_ok is None:
            counts = np.diff(comp.station_bounds).astype(np.float64)
            lane_vis = np.repeat(counts[:, None], out.n, axis=1)
        else:
            lane_vis = comp.per_station(vis_ok)
        ints["st_visits"] += np.rint(lane_vis.sum(axis=1)).astype(np.int64)
        self._add_float(block, "st_wait_m", ratio_moments(comp.per_station(queue), lane_vis).ravel())
        waited = comp.per_station(queue > _WAIT_EPS)
        self._add_float(block, "st_pwait_m", ratio_moments(waited, lane_vis).ravel())
        self._add_float(block, "crit_queue", per_station(np.sum(queue, axis=1, where=on)))
        self._add_float(block, "crit_duty", per_station(np.sum(duty, axis=1, where=on)))
        self._add_float(block, "crit_work", per_station(np.sum(work, axis=1, where=on)))
        self._add_float(block, "crit_link", float(np.sum(out.crit_link, where=on)))

        # Critical steps: own steps of each instance on its critical path.
        tmpl = np.array([x.template for x in inp.instances], dtype=np.int64)
        base = np.cumsum([0] + [len(t.steps) for t in inp.templates])
        flat = base[tmpl[comp.visit_instance]] + comp.visit_step
        crit_done = on & done[comp.visit_instance]
        np.add.at(ints["crit_steps"], flat, crit_done.sum(axis=1))

    def merge(self, other: Accumulator) -> None:
        """Add another accumulator's statistics (of other blocks) to this one."""
        for key, value in other.ints.items():
            self.ints[key] += value
        for key, items in other.floats.items():
            self.floats.setdefault(key, []).extend(items)
        for key, low in other.lows.items():
            np.minimum(self.lows[key], low, out=self.lows[key])
        for key, high in other.highs.items():
            np.maximum(self.highs[key], high, out=self.highs[key])
        if self.gantt is None:
            self.gantt = other.gantt
        self.replications += other.replications
        self.cpu_s += other.cpu_s
        self.peak_rss_kib = max(self.peak_rss_kib, other.peak_rss_kib)

    def total(self, name: str) -> FloatArray:
        """Return the exact (fsum) total of a floating statistic over all blocks."""
        items = sorted(self.floats.get(name, []), key=lambda x: x[0])
        if not items:
            return np.zeros(0)
        stacked = np.stack([v for _, v in items])
        return np.array([math.fsum(stacked[:, j]) for j in range(stacked.shape[1])])

    def ratio(self, name: str) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return each row's Σ S, Σ N and the between-replication standard error of Σ S / Σ N."""
        items = sorted(self.floats.get(name, []), key=lambda x: x[0])
        parts = np.stack([v.reshape(-1, 5) for _, v in items])
        return ratio_estimate(parts, self.replications)


@dataclass(frozen=True, slots=True)
class GanttBar:
    """One step of the median replication: when it arrived, got a server, started work and ended."""

    instance: str
    request: str
    step: str
    label: str
    organization: str
    kind: str
    arrive_h: float
    ready_h: float
    begin_h: float
    end_h: float
    critical: bool


def _median_gantt(comp: Compiled, out: BlockOutcome, eff: FloatArray, done: Any) -> tuple[GanttBar, ...]:
    """Pick the lane whose mean time to effect is the median of the block's lanes; list its steps."""
    inp = comp.inp
    cnt = done.sum(axis=0)
    key = np.where(cnt > 0, np.where(done, eff, 0.0).sum(axis=0) / np.maximum(cnt, 1), np.inf)
    finite = np.isfinite(key)
    if not finite.any():
        return ()
    med = np.median(key[finite])
    lane = int(np.argmin(np.where(finite, np.abs(key - med), np.inf)))
    on = critical_mask(comp, out)[:, lane]
    bars: list[GanttBar] = []
    for v in range(comp.visits):
        i = int(comp.visit_instance[v])
        if not math.isfinite(out.end[v, lane]):
            continue
        template = inp.templates[inp.instances[i].template]
        step = template.steps[int(comp.visit_step[v])]
        bars.append(
            GanttBar(
                instance=inp.label(i),
                request=template.request,
                step=step.id,
                label=step.label or step.id,
                organization=inp.stations[step.station].id,
                kind=step.kind,
                arrive_h=float(out.arrive[v, lane]),
                ready_h=float(out.ready[v, lane]),
                begin_h=float(out.begin[v, lane]),
                end_h=float(out.end[v, lane]),
                critical=bool(on[v]),
            )
        )
    return tuple(bars)


# -- results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Summary:
    """A distribution of times in hours: mean (with its standard error), p50, p90, p95, p99.

    `se_h` is the between-replication standard error of `mean_h` (see the module docstring); `sd_h` is
    the spread of the times themselves.
    """

    n: int
    mean_h: float
    se_h: float
    sd_h: float
    p50_h: float
    p90_h: float
    p95_h: float
    p99_h: float
    never: int = 0

    @classmethod
    def of(
        cls,
        n: int,
        total: float,
        sq: float,
        hist: IntArray,
        *,
        se: float,
        never: int = 0,
        low: FloatArray | None = None,
        high: FloatArray | None = None,
    ) -> Summary:
        """Build a summary from a count, a sum, a sum of squares, the standard error and a histogram
        (with the smallest and largest time of each bin, when known)."""
        if n == 0:
            nan = math.nan
            return cls(0, nan, nan, nan, nan, nan, nan, nan, never)
        mean = float(total) / n
        var = max(float(sq) / n - mean * mean, 0.0) * n / max(n - 1, 1)
        p50, p90, p95, p99 = hist_quantiles(hist, (0.50, 0.90, 0.95, 0.99), low, high)
        return cls(
            n=n,
            mean_h=mean,
            se_h=float(se),
            sd_h=math.sqrt(var),
            p50_h=p50,
            p90_h=p90,
            p95_h=p95,
            p99_h=p99,
            never=never,
        )

    def to_json(self) -> dict[str, float | int | None]:
        """Return the figures as JSON-ready numbers (NaN as None)."""
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in (
                ("mean_h", self.mean_h),
                ("se_h", self.se_h),
                ("p50_h", self.p50_h),
                ("p90_h", self.p90_h),
                ("p95_h", self.p95_h),
                ("p99_h", self.p99_h),
                ("n", self.n),
                ("never", self.never),
            )
        }


@dataclass(frozen=True)
class RequestStats:
    """Times of one request type (all its filings pooled) or of one filing.

    `hist_decision` and `hist_effect` count times per bin (`bin_edges`); `bounds_decision` and
    `bounds_effect`, when known, hold the smallest and largest time of each bin, for `quantile`.
    """

    request: str
    decision: Summary
    effect: Summary
    hist_decision: IntArray
    hist_effect: IntArray
    deadlines: dict[str, float] = field(default_factory=dict)
    bounds_decision: tuple[FloatArray, FloatArray] | None = None
    bounds_effect: tuple[FloatArray, FloatArray] | None = None

    @property
    def p_deadline(self) -> float | None:
        """Probability of meeting the first deadline (None when the request has none)."""
        return next(iter(self.deadlines.values()), None)

    def quantile(self, of: str, q: float) -> float:
        """Return the q-quantile of the time to `of` ("decision" or "effect")."""
        hist, bounds = (
            (self.hist_decision, self.bounds_decision)
            if of == "decision"
            else (self.hist_effect, self.bounds_effect)
        )
        return hist_quantile(hist, q, *(bounds or (None, None)))

    def to_json(self) -> dict[str, Any]:
        """Return the statistics as JSON-ready data (time to effect at the top level)."""
        eff = self.effect.to_json()
        return {
            "mean_h": eff["mean_h"],
            "p50_h": eff["p50_h"],
            "p90_h": eff["p90_h"],
            "p99_h": eff["p99_h"],
            "p_deadline": self.p_deadline,
            "deadlines": dict(self.deadlines),
            "effect": eff,
            "decision": self.decision.to_json(),
        }


@dataclass(frozen=True, slots=True)
class OrgStats:
    """Load and delay of one organization (or network node), with between-replication standard errors."""

    organization: str
    servers: int
    utilization: float
    delay_share: float
    queue_share: float
    work_share: float
    duty_share: float
    mean_wait_h: float
    mean_wait_se_h: float
    p_wait: float
    p_wait_se: float
    visits: int
    utilization_se: float = math.nan

    def to_json(self) -> dict[str, Any]:
        """Return the statistics as JSON-ready data."""
        return {
            "utilization": _num(self.utilization),
            "utilization_se": _num(self.utilization_se),
            "delay_share": _num(self.delay_share),
            "queue_share": _num(self.queue_share),
            "work_share": _num(self.work_share),
            "duty_share": _num(self.duty_share),
            "mean_wait_h": _num(self.mean_wait_h),
            "mean_wait_se_h": _num(self.mean_wait_se_h),
            "p_wait": _num(self.p_wait),
            "p_wait_se": _num(self.p_wait_se),
            "servers": self.servers,
        }


def _num(x: float) -> float | None:
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class StructureResult:
    """Everything measured for one structure."""

    structure: str
    requests: dict[str, RequestStats]
    instances: dict[str, RequestStats]
    organizations: dict[str, OrgStats]
    critical_steps: dict[str, dict[str, float]]
    links_share: float
    unconverged: int
    gantt: tuple[GanttBar, ...]
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the structure's results as JSON-ready data."""
        return {
            "requests": {k: v.to_json() for k, v in self.requests.items()},
            "instances": {k: v.to_json() for k, v in self.instances.items()},
            "organizations": {k: v.to_json() for k, v in self.organizations.items()},
            "critical_steps": self.critical_steps,
            "links_share": _num(self.links_share),
            "unconverged": self.unconverged,
            "notes": list(self.notes),
        }

    @classmethod
    def of(cls, inp: EngineInput, acc: Accumulator) -> StructureResult:
        """Finish an accumulator into per-request, per-organization and critical-step statistics."""
        ints = acc.ints
        dec_sum, _, dec_se = acc.ratio("inst_dec_m")
        eff_sum, _, eff_se = acc.ratio("inst_eff_m")
        dec_sq, eff_sq = acc.total("inst_dec_sq"), acc.total("inst_eff_sq")
        labels = inp.labels
        instances: dict[str, RequestStats] = {}
        k = 0
        for i, inst in enumerate(inp.instances):
            ps: dict[str, float] = {}
            for d in inst.deadlines:
                nd = int(ints["deadline_n"][k])
                ps[d.name] = ints["deadline_met"][k] / nd if nd else math.nan
                k += 1
            n = int(ints["inst_n"][i])
            never = int(ints["inst_never"][i])
            kept = i < ints["inst_hist_dec"].shape[0]
            hd = ints["inst_hist_dec"][i] if kept else np.zeros(BINS, np.int64)
            he = ints["inst_hist_eff"][i] if kept else np.zeros(BINS, np.int64)
            bd = (acc.lows["inst_dec"][i], acc.highs["inst_dec"][i]) if kept else None
            be = (acc.lows["inst_eff"][i], acc.highs["inst_eff"][i]) if kept else None
            instances[labels[i]] = RequestStats(
                request=labels[i],
                decision=Summary.of(n, dec_sum[i], dec_sq[i], hd, se=dec_se[i], never=never, **_bounds(bd)),
                effect=Summary.of(n, eff_sum[i], eff_sq[i], he, se=eff_se[i], never=never, **_bounds(be)),
                hist_decision=hd,
                hist_effect=he,
                deadlines=ps,
                bounds_decision=bd,
                bounds_effect=be,
            )
        requests = _request_stats(inp, acc)
        orgs, links_share = _org_stats(inp, acc)
        crit = _critical_steps(inp, acc)
        return cls(
            structure=inp.structure,
            requests=requests,
            instances=instances,
            organizations=orgs,
            critical_steps=crit,
            links_share=links_share,
            unconverged=int(ints["unsettled"][0]),
            gantt=acc.gantt or (),
            notes=inp.notes,
        )


def _bounds(bounds: tuple[FloatArray, FloatArray] | None) -> dict[str, FloatArray | None]:
    return {"low": bounds[0], "high": bounds[1]} if bounds is not None else {}


def _request_stats(inp: EngineInput, acc: Accumulator) -> dict[str, RequestStats]:
    """Pool the filings of each request type (standard errors between replications)."""
    ints = acc.ints
    dec_sq, eff_sq = acc.total("inst_dec_sq"), acc.total("inst_eff_sq")
    dec_sum, _, dec_se = acc.ratio("type_dec_m")
    eff_sum, _, eff_se = acc.ratio("type_eff_m")
    requests: dict[str, RequestStats] = {}
    for t, template in enumerate(inp.templates):
        members = [i for i, x in enumerate(inp.instances) if x.template == t]
        n = int(sum(ints["inst_n"][i] for i in members))
        never = int(sum(ints["inst_never"][i] for i in members))
        hd = ints["type_hist_dec"][t]
        he = ints["type_hist_eff"][t]
        bd = (acc.lows["type_dec"][t], acc.highs["type_dec"][t])
        be = (acc.lows["type_eff"][t], acc.highs["type_eff"][t])
        met: dict[str, list[float]] = {}
        kk = 0
        for inst in inp.instances:
            for d in inst.deadlines:
                if inst.template == t:
                    met.setdefault(d.name, [0.0, 0.0])
                    met[d.name][0] += float(ints["deadline_met"][kk])
                    met[d.name][1] += float(ints["deadline_n"][kk])
                kk += 1
        deadlines = {name: (a / b if b else math.nan) for name, (a, b) in met.items()}
        requests[template.request] = RequestStats(
            request=template.request,
            decision=Summary.of(
                n,
                dec_sum[t],
                math.fsum(dec_sq[i] for i in members),
                hd,
                se=dec_se[t],
                never=never,
                **_bounds(bd),
            ),
            effect=Summary.of(
                n,
                eff_sum[t],
                math.fsum(eff_sq[i] for i in members),
                he,
                se=eff_se[t],
                never=never,
                **_bounds(be),
            ),
            hist_decision=hd,
            hist_effect=he,
            deadlines=deadlines,
            bounds_decision=bd,
            bounds_effect=be,
        )
    return requests


def _org_stats(inp: EngineInput, acc: Accumulator) -> tuple[dict[str, OrgStats], float]:
    """Utilization, waits and delay shares per organization, and the share of the links."""
    ints = acc.ints
    tot = acc.total
    cq, cd, cw = tot("crit_queue"), tot("crit_duty"), tot("crit_work")
    clink = float(tot("crit_link")[0]) if acc.floats.get("crit_link") else 0.0
    crit_total = float(cq.sum() + cd.sum() + cw.sum()) + clink
    busy, capacity, util_se = acc.ratio("st_util_m")
    wait, visits, wait_se = acc.ratio("st_wait_m")
    waited, _, waited_se = acc.ratio("st_pwait_m")
    orgs: dict[str, OrgStats] = {}
    for s, station in enumerate(inp.stations):
        own = cq[s] + cd[s] + cw[s]
        seen = visits[s] > 0
        orgs[station.id] = OrgStats(
            organization=station.id,
            servers=station.servers,
            utilization=float(busy[s] / capacity[s]) if capacity[s] > 0 else math.nan,
            utilization_se=float(util_se[s]),
            delay_share=float(own / crit_total) if crit_total > 0 else math.nan,
            queue_share=float(cq[s] / own) if own > 0 else math.nan,
            work_share=float(cw[s] / own) if own > 0 else math.nan,
            duty_share=float(cd[s] / own) if own > 0 else math.nan,
            mean_wait_h=float(wait[s] / visits[s]) if seen else math.nan,
            mean_wait_se_h=float(wait_se[s]),
            p_wait=float(waited[s] / visits[s]) if seen else math.nan,
            p_wait_se=float(waited_se[s]),
            visits=int(ints["st_visits"][s]),
        )

    return orgs, (clink / crit_total if crit_total > 0 else math.nan)


def _critical_steps(inp: EngineInput, acc: Accumulator) -> dict[str, dict[str, float]]:
    """How often each step of each request lies on the request's longest path."""
    ints = acc.ints
    crit: dict[str, dict[str, float]] = {}
    base = 0
    for t, template in enumerate(inp.templates):
        members = [i for i, x in enumerate(inp.instances) if x.template == t]
        n = int(sum(ints["inst_n"][i] for i in members))
        crit[template.request] = {
            step.id: (ints["crit_steps"][base + j] / n if n else math.nan)
            for j, step in enumerate(template.steps)
        }
        base += len(template.steps)
    return crit


@dataclass(frozen=True, slots=True)
class Comparison:
    """Structure `a` against `b` for one request's time to effect: a - b, a CI, and Cliff's delta.

    Cliff's delta is P(A > B) - P(A < B) over independent draws, from the two histograms (times in the
    same 1% bin count as ties); -1 means `a` is always faster, 0 no difference.
    """

    request: str
    a: str
    b: str
    diff_mean_h: float
    ci_low_h: float
    ci_high_h: float
    cliffs_delta: float

    def to_json(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data."""
        return {
            "request": self.request,
            "a": self.a,
            "b": self.b,
            "diff_mean_h": _num(self.diff_mean_h),
            "ci95_h": [_num(self.ci_low_h), _num(self.ci_high_h)],
            "cliffs_delta": _num(self.cliffs_delta),
        }


def cliffs_delta(hist_a: IntArray, hist_b: IntArray) -> float:
    """Return Cliff's delta of two samples given as histograms over the same bins."""
    na, nb = int(hist_a.sum()), int(hist_b.sum())
    if na == 0 or nb == 0:
        return math.nan
    below_b = np.concatenate([[0], np.cumsum(hist_b)[:-1]]).astype(np.float64)
    above_b = nb - below_b - hist_b
    a = hist_a.astype(np.float64)
    return float((a @ below_b - a @ above_b) / (na * nb))


def compare(a: StructureResult, b: StructureResult, request: str) -> Comparison:
    """Compare one request's time to effect under two structures."""
    ra, rb = a.requests[request], b.requests[request]
    diff = ra.effect.mean_h - rb.effect.mean_h
    se = math.hypot(ra.effect.se_h, rb.effect.se_h)
    return Comparison(
        request=request,
        a=a.structure,
        b=b.structure,
        diff_mean_h=diff,
        ci_low_h=diff - 1.96 * se,
        ci_high_h=diff + 1.96 * se,
        cliffs_delta=cliffs_delta(ra.hist_effect, rb.hist_effect),
    )


@dataclass(frozen=True)
class SimResult:
    """The result of simulating one scenario under one or more structures.

    `structures` maps a structure id (or, for a network scenario, `network`) to its StructureResult.
    `gantt(structure)` lists the steps of a median replication for a Gantt chart; `comparisons()`
    compares every request between the first structure and each other one.
    """

    scenario: str
    replications: int
    seed: int
    start: str
    structures: dict[str, StructureResult]
    elapsed_s: float = math.nan
    workers: int = 1
    cpu_s: float = math.nan
    peak_worker_rss_mib: float = math.nan

    def gantt(self, structure: str) -> tuple[GanttBar, ...]:
        """Return the median replication's steps under a structure."""
        return self.structures[structure].gantt

    def comparisons(self) -> list[Comparison]:
        """Compare each request's time to effect: every other structure against the first one."""
        ids = list(self.structures)
        out: list[Comparison] = []
        for other in ids[1:]:
            a, b = self.structures[other], self.structures[ids[0]]
            out.extend(compare(a, b, r) for r in a.requests if r in b.requests)
        return out

    def to_json(self) -> dict[str, Any]:
        """Return the result as JSON-ready data (see the module docstring for the keys)."""
        return {
            "scenario": self.scenario,
            "replications": self.replications,
            "seed": self.seed,
            "start": self.start,
            "structures": {k: v.to_json() for k, v in self.structures.items()},
            "comparisons": [c.to_json() for c in self.comparisons()],
        }


def merge_all(parts: Iterable[Accumulator]) -> Accumulator | None:
    """Merge accumulators (None when there are none)."""
    total: Accumulator | None = None
    for part in parts:
        if total is None:
            total = part
        else:
            total.merge(part)
    return total


def results_of(
    inputs: Mapping[str, EngineInput], accs: Mapping[str, Accumulator]
) -> dict[str, StructureResult]:
    """Finish accumulators into StructureResults, by structure id."""
    return {k: StructureResult.of(inputs[k], accs[k]) for k in inputs}
