"""Parameter sweeps: which scenario parameters drive latency most.

A sweep varies scenario parameters (`--vary PARAM=LO:HI`) over a design (a full grid or a Latin
hypercube), runs the simulator at every design point, and ranks the parameters by their effect on a
response (the mean time to decision or to effect of a request). The ranking fits a linear model on the
parameters scaled to [0, 1], so an effect reads as "hours gained or lost going from the low end of the range
to the high end, the others held at mid-range"; Spearman's rank correlation is given beside it for
responses that are monotone but not linear. The tornado plot draws those low-to-high swings.

Design points are independent, so they run in parallel: local processes by default, or a Dask cluster
(`backend="dask"`); each worker returns a handful of statistics, never raw replication arrays.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kizuna.errors import InvalidQuery, UnknownId, suggestion
from kizuna.model.scenario import Scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class Design(StrEnum):
    """How design points are laid out."""

    GRID = "grid"  # every combination of each factor's levels
    LHS = "lhs"  # Latin hypercube: n points, each factor's range cut in n strata, each stratum used once


class Backend(StrEnum):
    """Where design points run."""

    LOCAL = "local"  # processes on this machine (concurrent.futures)
    DASK = "dask"  # a Dask distributed cluster (a LocalCluster unless an address is given)


class Factor(BaseModel):
    """A parameter a sweep varies: a range (continuous) or a list of levels (discrete)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    parameter: str = Field(min_length=1, description="The parameter's path in the scenario.")
    low: float
    high: float
    levels: tuple[float, ...] | None = Field(
        default=None, description="Explicit levels; a grid uses them, a Latin hypercube picks among them."
    )

    @model_validator(mode="after")
    def _ordered(self) -> Factor:
        if self.high < self.low:
            raise ValueError(f"{self.parameter}: the range runs backwards ({self.low} > {self.high})")
        return self

    def grid_levels(self, default: int) -> tuple[float, ...]:
        """Return the factor's grid levels: its explicit levels, or `default` evenly spaced values."""
        if self.levels is not None:
            return self.levels
        if self.low == self.high:
            return (self.low,)
        return tuple(float(v) for v in np.linspace(self.low, self.high, default))

    def scale(self, value: float) -> float:
        """Map a value of the factor to [0, 1] (0 for a factor that does not vary)."""
        return 0.0 if self.high == self.low else (value - self.low) / (self.high - self.low)


def parse_vary(text: str) -> Factor:
    """Parse `PARAM=LO:HI`, `PARAM=LO:HI:K` (K grid levels) or `PARAM=V1,V2,...` (levels).

    Raises:
        InvalidQuery: the text is not one of those forms.
    """
    name, sep, spec = text.partition("=")
    name, spec = name.strip(), spec.strip()
    forms = "PARAM=LO:HI, PARAM=LO:HI:LEVELS or PARAM=V1,V2,..."
    if not sep or not name or not spec:
        raise InvalidQuery(f"--vary {text!r}: expected {forms}")
    try:
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise ValueError(spec)
            low, high = float(parts[0]), float(parts[1])
            levels = None
            if len(parts) == 3:
                count = int(parts[2])
                if count < 2:
                    raise InvalidQuery(f"--vary {text!r}: LEVELS must be at least 2")
                levels = tuple(float(v) for v in np.linspace(low, high, count))
            return Factor(parameter=name, low=low, high=high, levels=levels)
        values = tuple(sorted(float(v) for v in spec.split(",")))
        return Factor(parameter=name, low=values[0], high=values[-1], levels=values)
    except InvalidQuery:
        raise
    except ValueError as err:
        raise InvalidQuery(f"--vary {text!r}: {err}; expected {forms}") from err


def design_points(
    factors: Sequence[Factor], design: Design, *, points: int, grid_levels: int = 3, seed: int = 0
) -> list[dict[str, float]]:
    """Lay out the design: one mapping parameter -> value per point.

    Args:
        factors: what varies.
        design: grid or Latin hypercube.
        points: number of Latin-hypercube points (ignored by the grid).
        grid_levels: levels of a continuous factor in a grid.
        seed: seeds the Latin hypercube's permutations and jitter.
    """
    if not factors:
        raise InvalidQuery("a sweep varies at least one parameter (--vary PARAM=LO:HI)")
    names = [f.parameter for f in factors]
    if len(set(names)) != len(names):
        raise InvalidQuery(f"a parameter is varied twice: {sorted(n for n in names if names.count(n) > 1)}")
    if design is Design.GRID:
        grids = [f.grid_levels(grid_levels) for f in factors]
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*grids)]
    if points < 2:
        raise InvalidQuery("a Latin hypercube needs at least 2 points")
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    columns: list[np.ndarray] = []
    for factor in factors:
        strata = (rng.permutation(points) + rng.random(points)) / points  # one point per stratum
        if factor.levels is not None:
            index = np.minimum((strata * len(factor.levels)).astype(int), len(factor.levels) - 1)
            columns.append(np.asarray(factor.levels)[index])
        else:
            columns.append(factor.low + strata * (factor.high - factor.low))
    return [{name: float(col[i]) for name, col in zip(names, columns, strict=True)} for i in range(points)]


@dataclass(frozen=True, slots=True)
class FactorEffect:
    """How much one factor moves the response across its range."""

    parameter: str
    low: float
    high: float
    at_low: float  # fitted response with this factor at its low end, the others at mid-range
    at_high: float  # the same at the high end
    spearman: float  # rank correlation between the factor and the response over the design points
    #: The simulated responses of the design points with the factor in the lowest (highest) quarter of
    #: its range: at its low (high) level in a grid.
    simulated_low: tuple[float, ...] = ()
    simulated_high: tuple[float, ...] = ()

    @property
    def swing(self) -> float:
        """The change of the response from the low end to the high end (hours; signed)."""
        return self.at_high - self.at_low

    @property
    def low_interval(self) -> tuple[float, float, float]:
        """Mean of the simulated responses at the low end, with its 95% interval (over design points)."""
        return mean_interval(self.simulated_low)

    @property
    def high_interval(self) -> tuple[float, float, float]:
        """Mean of the simulated responses at the high end, with its 95% interval (over design points)."""
        return mean_interval(self.simulated_high)


def mean_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Return (mean, low, high): a mean and its 95% interval (normal approximation; NaN when empty)."""
    finite = np.asarray([v for v in values if math.isfinite(v)], dtype=float)
    if not len(finite):
        return math.nan, math.nan, math.nan
    mean = float(finite.mean())
    if len(finite) < 2:
        return mean, mean, mean
    half = 1.96 * float(finite.std(ddof=1)) / math.sqrt(len(finite))
    return mean, mean - half, mean + half


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A sweep's design points, their responses, and the factors ranked by effect."""

    scenario: str
    response: str
    design: Design
    replications: int
    seed: int
    factors: tuple[Factor, ...]
    points: tuple[Mapping[str, float], ...]
    responses: tuple[float, ...]
    effects: tuple[FactorEffect, ...]  # largest absolute swing first
    r_squared: float
    extra: Mapping[str, tuple[float, ...]] = field(default_factory=dict)  # other statistics per point

    def to_json(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready data."""
        return {
            "scenario": self.scenario,
            "response": self.response,
            "design": self.design.value,
            "replications": self.replications,
            "seed": self.seed,
            "r_squared": _finite(self.r_squared),
            "ranking": [
                {
                    "parameter": e.parameter,
                    "low": e.low,
                    "high": e.high,
                    "at_low_h": _finite(e.at_low),
                    "at_high_h": _finite(e.at_high),
                    "swing_h": _finite(e.swing),
                    "spearman": _finite(e.spearman),
                    "simulated_low_h": [_finite(v) for v in e.low_interval],
                    "simulated_high_h": [_finite(v) for v in e.high_interval],
                }
                for e in self.effects
            ],
            "points": [
                {"parameters": dict(p), "response_h": _finite(r)}
                for p, r in zip(self.points, self.responses, strict=True)
            ],
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


#: The smallest variation of a response, relative to its size, that R² is computed for.
RESOLUTION = 1e-9


def rank_effects(
    factors: Sequence[Factor], points: Sequence[Mapping[str, float]], responses: Sequence[float]
) -> tuple[tuple[FactorEffect, ...], float]:
    """Rank factors by their fitted low-to-high swing of the response; return them and the fit's R².

    The fit is ordinary least squares of the response on the factors scaled to [0, 1]. Points whose
    response is not finite (a request that never completed) are left out of the fit.
    """
    y = np.asarray(responses, dtype=float)
    x = np.array([[f.scale(p[f.parameter]) for f in factors] for p in points], dtype=float)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    design = np.column_stack([np.ones(len(y)), x])
    fit = np.linalg.lstsq(design, y, rcond=None)[0] if len(y) else np.full(len(factors) + 1, math.nan)
    coef = np.asarray(fit, dtype=float)
    fitted = design @ coef if len(y) else y
    total = float(np.sum((y - y.mean()) ** 2)) if len(y) else 0.0
    # A response that varies by less than a billionth of its size varies by rounding only: the share
    # of that variation a fit explains is noise, so R² is undefined, as for a constant response.
    floor = len(y) * (RESOLUTION * float(np.max(np.abs(y)))) ** 2 if len(y) else 0.0
    r_squared = 1.0 - float(np.sum((y - fitted) ** 2)) / total if total > floor else math.nan
    mid = coef[0] + 0.5 * float(np.sum(coef[1:]))
    effects = []
    for i, factor in enumerate(factors):
        slope = float(coef[i + 1])
        effects.append(
            FactorEffect(
                parameter=factor.parameter,
                low=factor.low,
                high=factor.high,
                at_low=float(mid - 0.5 * slope),
                at_high=float(mid + 0.5 * slope),
                spearman=_spearman(x[:, i], y),
                simulated_low=tuple(float(v) for v in y[x[:, i] <= 0.25]) if factor.high > factor.low else (),
                simulated_high=tuple(float(v) for v in y[x[:, i] >= 0.75])
                if factor.high > factor.low
                else (),
            )
        )
    effects.sort(key=lambda e: -abs(e.swing) if math.isfinite(e.swing) else 0.0)
    return tuple(effects), r_squared


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    ra, rb = _ranks(a), _ranks(b)
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their ranks)."""
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(len(values), dtype=float)
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def tornado_figure(result: SweepResult, *, top: int = 12) -> Figure:
    """Draw the tornado plot: each factor's effect from the low to the high end of its range.

    Bars are the linear fit's response at each end (the other factors at mid-range); over them, the
    simulated responses of the design points at each end (dots) and their mean with its 95% interval
    (a diamond with a bar), so a reader sees the simulated values the fit summarizes.
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    low_colour, high_colour = "#4c72b0", "#dd8452"
    effects = [e for e in result.effects if math.isfinite(e.swing)][:top][::-1]
    fig = Figure(figsize=(9.5, 1.6 + 0.7 * max(len(effects), 1)), layout="constrained")
    ax = fig.add_subplot()
    if not effects:
        ax.text(0.5, 0.5, "no finite responses", ha="center", va="center", transform=ax.transAxes)
        return fig
    mid = (effects[0].at_low + effects[0].at_high) / 2
    for row, effect in enumerate(effects):
        ax.barh(row, effect.at_low - mid, left=mid, color=low_colour, height=0.55, alpha=0.45)
        ax.barh(row, effect.at_high - mid, left=mid, color=high_colour, height=0.55, alpha=0.45)
        for values, interval, colour, offset in (
            (effect.simulated_low, effect.low_interval, low_colour, -0.13),
            (effect.simulated_high, effect.high_interval, high_colour, 0.13),
        ):
            finite = [v for v in values if math.isfinite(v)]
            if finite:
                ax.plot(finite, [row + offset] * len(finite), "o", color=colour, markersize=3, alpha=0.6)
            mean, lo, hi = interval
            if math.isfinite(mean):
                ax.errorbar(
                    mean,
                    row + offset,
                    xerr=[[mean - lo], [hi - mean]],
                    fmt="D",
                    color=colour,
                    markeredgecolor="black",
                    markersize=5,
                    capsize=3,
                    linewidth=1.2,
                )
        right = max([effect.at_low, effect.at_high, *effect.simulated_low, *effect.simulated_high])
        ax.text(right, row, f"  {effect.swing:+.2f} h", va="center", fontsize=8)
    ax.axvline(mid, color="black", linewidth=0.8)
    ax.set_yticks(
        range(len(effects)),
        [f"{e.parameter}\n[{_fmt(e.low)} – {_fmt(e.high)}]" for e in effects],
        fontsize=8,
    )
    ax.set_xlabel(f"{result.response} (hours)")
    ax.grid(True, axis="x", alpha=0.25)
    fig.suptitle(
        f"{result.scenario}: what drives {result.response}\n"
        f"{result.design.value}, {len(result.points)} points × {result.replications} replications, "
        f"linear fit R² = {result.r_squared:.2f}; bars: fitted, others at mid-range",
        fontsize=9,
        x=0.01,
        ha="left",
    )
    fig.legend(
        handles=[
            Patch(color=low_colour, alpha=0.45, label="fitted, low end"),
            Patch(color=high_colour, alpha=0.45, label="fitted, high end"),
            Line2D(
                [], [], marker="o", linestyle="", color="grey", markersize=3, label="simulated design points"
            ),
            Line2D(
                [],
                [],
                marker="D",
                linestyle="-",
                color="grey",
                markeredgecolor="black",
                label="simulated mean, 95% interval",
            ),
        ],
        loc="outside lower center",
        ncol=4,
        fontsize=8,
    )
    xmin, xmax = ax.get_xlim()
    ax.set_xlim(xmin, xmax + 0.15 * (xmax - xmin))
    return fig


def _fmt(value: float) -> str:
    return f"{value:g}"


def run_points(
    evaluate: Callable[[dict[str, float]], dict[str, float]],
    points: Sequence[dict[str, float]],
    *,
    backend: Backend = Backend.LOCAL,
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, float]]:
    """Evaluate every design point on the chosen backend, in design order.

    Args:
        evaluate: a picklable function from a point to its statistics.
        points: the design.
        backend: local processes or Dask.
        workers: local processes (default: the CPU count); ignored by Dask.
        address: a Dask scheduler address; without it a LocalCluster is started for the call.
        progress: called with the number of points just finished.
    """
    if backend is Backend.DASK:
        return _run_dask(evaluate, points, address=address, progress=progress)
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    count = workers or os.cpu_count() or 1
    if count <= 1 or len(points) <= 1:
        results = []
        for point in points:
            results.append(evaluate(point))
            if progress:
                progress(1)
        return results
    out: list[dict[str, float] | None] = [None] * len(points)
    with ProcessPoolExecutor(max_workers=min(count, len(points))) as pool:
        futures = {pool.submit(evaluate, p): i for i, p in enumerate(points)}
        for future in as_completed(futures):
            out[futures[future]] = future.result()
            if progress:
                progress(1)
    return [r for r in out if r is not None]


def _run_dask(
    evaluate: Callable[[dict[str, float]], dict[str, float]],
    points: Sequence[dict[str, float]],
    *,
    address: str | None,
    progress: Callable[[int], None] | None,
) -> list[dict[str, float]]:
    import importlib
    import os

    # distributed's API is untyped; it is used through this one handle.
    dist: Any = importlib.import_module("distributed")
    # glibc's malloc trimming threshold set in the environment makes Dask workers about twice as slow.
    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    cluster: Any = None
    if address is None:
        workers = min(os.cpu_count() or 1, 2)
        cluster = dist.LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=None)
        client: Any = dist.Client(cluster)
    else:
        client = dist.Client(address)
    try:
        futures = client.map(evaluate, list(points), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[dict[str, float] | None] = [None] * len(points)
        for future in dist.as_completed(futures):
            out[index[future.key]] = future.result()
            if progress:
                progress(1)
        return [r for r in out if r is not None]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# -- sweeping a scenario -------------------------------------------------------------------------------

#: Keys under which a sweep may create a missing mapping (it is marked as set by the sweep).
_CREATABLE = ("organizations", "steps", "step_kinds")
#: Parameters that are whole numbers.
_INTEGER_KEYS = ("servers", "count")
#: Statistics a response may name.
STATISTICS = ("mean", "p50", "p90", "p99")


def apply_overrides(scenario: Scenario, values: Mapping[str, float]) -> Scenario:
    """Return the scenario with parameters set, e.g. `organizations.jp-nsc.servers` or `liaison.factor`.

    A path is read under `parameters` (the prefix `parameters.` may be given); mappings of organizations and
    step kinds that the scenario does not list are created. Whole-number parameters are rounded.

    Raises:
        InvalidQuery: a path does not lead to a parameter (the message lists the keys found there).
    """
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    for path, value in values.items():
        parts = path.removeprefix("parameters.").split(".")
        node: Any = data.setdefault("parameters", {})
        where = "parameters"
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if not isinstance(node, dict):
                raise InvalidQuery(f"--vary {path}: {where} is not a mapping of parameters")
            if last:
                node[part] = round(value) if part in _INTEGER_KEYS else value
                break
            if part not in node:
                if i > 0 and parts[i - 1] in _CREATABLE:
                    node[part] = {"assumption": f"set by a sweep of {path}"}
                else:
                    keys = sorted(str(k) for k in node)
                    known = ", ".join(keys) or "(none)"
                    near = suggestion(part, keys)
                    raise InvalidQuery(f"--vary {path}: no {part!r} under {where}; {near}there: {known}")
            node = node[part]
            where = f"{where}.{part}"
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise InvalidQuery(f"--vary: the swept scenario is invalid at {loc}: {first['msg']}") from err


@dataclass(frozen=True, slots=True)
class SweepParameter:
    """A parameter a sweep may vary: its path under `parameters`, its value now, and why it has it."""

    path: str
    value: float | None  # None: not set in the scenario (a sweep creates it)
    why: str  # the parameter's assumption or source (the nearest one up its path)


def sweep_parameters(scenario: Scenario, organizations: Sequence[str] = ()) -> list[SweepParameter]:
    """List the parameters of a scenario a sweep may vary (`kizuna sweep SCENARIO --list`).

    Every number under `parameters` (servers, rework, distribution means and spreads, the liaison factor,
    link delays), then `organizations.ORG.servers` for each of `organizations` (the structure's) that the
    scenario does not set: a sweep creates those from the defaults.
    """
    if scenario.parameters is None:
        return []
    data = scenario.parameters.model_dump(mode="json", by_alias=True, exclude_none=True)
    found: list[SweepParameter] = []

    def walk(node: Any, path: str, why: str) -> None:
        if isinstance(node, dict):
            here = str(node.get("assumption") or "; ".join(node.get("source") or ()) or why)
            for key, value in node.items():
                if key in ("assumption", "source", "unit", "dist", "hours", "days", "open", "close"):
                    continue
                walk(value, f"{path}.{key}" if path else str(key), here)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            found.append(SweepParameter(path, float(node), " ".join(why.split())))

    walk(data, "", "")
    listed = {p.path for p in found}
    for org in organizations:
        if f"organizations.{org}.servers" not in listed:
            found.append(
                SweepParameter(
                    f"organizations.{org}.servers", None, "not set: the defaults apply (a sweep sets it)"
                )
            )
    return found


def check_factors(factors: Sequence[Factor], known: Sequence[SweepParameter], *, scenario: str) -> None:
    """Refuse a factor whose path names no sweepable parameter, suggesting the nearest paths.

    Raises:
        InvalidQuery: a path is not one of `known` (the message names the nearest ones and how to list all).
    """
    paths = [k.path for k in known]
    for factor in factors:
        path = factor.parameter.removeprefix("parameters.")
        if path not in paths:
            raise InvalidQuery(
                f"--vary: {scenario} has no parameter {factor.parameter!r}; {suggestion(path, paths)}"
                f"`kizuna sweep {scenario} --list` shows the {len(paths)} it has"
            )


def default_response(scenario: Scenario) -> str:
    """The response a sweep ranks by default: the mean time to effect of the first request with a deadline."""
    with_deadline = [
        entry.request for inject in scenario.injects for entry in inject.requests if entry.deadlines
    ]
    request = with_deadline[0] if with_deadline else scenario.requests[0].id
    return f"{request}.effect.mean"


def parse_response(text: str, scenario: Scenario) -> tuple[str, str, str]:
    """Split `REQUEST.decision|effect.STAT` and check its parts.

    Raises:
        InvalidQuery: the response does not name a request, a measure and a statistic.
    """
    parts = text.split(".")
    if len(parts) != 3 or parts[1] not in ("decision", "effect") or parts[2] not in STATISTICS:
        raise InvalidQuery(
            f"--response {text!r}: expected REQUEST.decision|effect.{'|'.join(STATISTICS)}, "
            f"e.g. {default_response(scenario)}"
        )
    if parts[0] not in scenario.request_by_id:
        raise UnknownId("request", parts[0], scenario.request_by_id)
    return parts[0], parts[1], parts[2]


#: Building engine inputs fills caches on first use (loaded frameworks and structures, the compiled rule
#: engine) that are not built thread-safely; a Dask worker with several threads builds one point at a time
#: (simulating, the expensive part, still runs in parallel).
_BUILD_LOCK = threading.Lock()


@dataclass(frozen=True)
class ScenarioPoint:
    """Simulate one design point of a scenario and return its statistics (picklable for any backend)."""

    scenario: dict[str, Any]
    structure: str
    replications: int
    seed: int

    def __call__(self, point: dict[str, float]) -> dict[str, float]:
        """Return `REQUEST.MEASURE.STAT` -> hours for every simulated request at this point."""
        from kizuna.sim.build import build_inputs
        from kizuna.sim.runner import simulate_inputs

        scenario = apply_overrides(Scenario.model_validate(self.scenario), point)
        with _BUILD_LOCK:
            inputs = build_inputs(scenario, [self.structure])
        result = simulate_inputs(
            inputs, scenario=scenario.id, replications=self.replications, seed=self.seed, workers=1
        )
        out: dict[str, float] = {}
        for rid, stats in result.structures[self.structure].requests.items():
            for measure, summary in (("decision", stats.decision), ("effect", stats.effect)):
                out[f"{rid}.{measure}.mean"] = summary.mean_h
                out[f"{rid}.{measure}.p50"] = summary.p50_h
                out[f"{rid}.{measure}.p90"] = summary.p90_h
                out[f"{rid}.{measure}.p99"] = summary.p99_h
        return out


def sweep(
    scenario: Scenario,
    factors: Sequence[Factor],
    *,
    design: Design = Design.GRID,
    points: int = 16,
    grid_levels: int = 3,
    replications: int = 500,
    seed: int = 0,
    structure: str | None = None,
    response: str | None = None,
    backend: Backend = Backend.LOCAL,
    workers: int | None = None,
    address: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run a sweep over a scenario's parameters and rank them by their effect on one response.

    Every design point is simulated with the same seed (common random numbers), so differences between
    points come from the parameters, not from the draws.

    Args:
        scenario: an organizational scenario.
        factors: the parameters to vary (`parse_vary`).
        design: grid or Latin hypercube.
        points: Latin-hypercube points.
        grid_levels: levels of each continuous factor in a grid.
        replications: replications per point.
        seed: the seed of every point (and of the Latin hypercube).
        structure: the structure to simulate (default: the scenario's first).
        response: `REQUEST.decision|effect.mean|p50|p90|p99` (default: `default_response`).
        backend: local processes or Dask.
        workers: local processes.
        address: a Dask scheduler address (default: a LocalCluster for the call).
        progress: called with the number of points just finished.

    Raises:
        InvalidQuery: a factor or the response is malformed, or a path leads nowhere.
        UnknownId: the structure or request is not in the scenario.
    """
    if scenario.network is not None:
        raise InvalidQuery("sweeps vary organizational scenarios (this one is a plain network)")
    sid = structure or scenario.structures[0]
    if sid not in scenario.structures:
        raise UnknownId("structure of the scenario", sid, scenario.structures)
    response = response or default_response(scenario)
    parse_response(response, scenario)
    layout = design_points(factors, design, points=points, grid_levels=grid_levels, seed=seed)
    apply_overrides(scenario, layout[0])  # fail early, in this process, on a bad path
    evaluate = ScenarioPoint(
        scenario.model_dump(mode="json", by_alias=True, exclude_none=True), sid, replications, seed
    )
    stats = run_points(evaluate, layout, backend=backend, workers=workers, address=address, progress=progress)
    values = tuple(s.get(response, math.nan) for s in stats)
    effects, r_squared = rank_effects(factors, layout, values)
    keys = sorted({k for s in stats for k in s})
    return SweepResult(
        scenario=f"{scenario.id} ({sid})",
        response=response,
        design=design,
        replications=replications,
        seed=seed,
        factors=tuple(factors),
        points=tuple(layout),
        responses=values,
        effects=effects,
        r_squared=r_squared,
        extra={k: tuple(s.get(k, math.nan) for s in stats) for k in keys},
    )
