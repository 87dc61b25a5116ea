"""Drawing durations for many columns at once: one column per visit (or link), one row per replication.

The engine draws all service times of a block of replications in a few NumPy calls: columns are grouped
by distribution family, and each family is drawn as one matrix with per-column parameters. The order of
draws is fixed (family by family, in the order of `FAMILIES`), so a seed gives the same numbers however
the columns were listed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from kizuna.model.scenario import (
    Deterministic,
    Distribution,
    Empirical,
    Exponential,
    Lognormal,
    Triangular,
)

FloatArray = npt.NDArray[np.float64]

#: Families in the order their draws are taken from a generator.
FAMILIES = ("deterministic", "exponential", "lognormal", "triangular", "empirical")


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """Return (mu, sigma) of the underlying normal for a lognormal with this mean and CV."""
    sigma = math.sqrt(math.log1p(cv * cv))
    return math.log(mean) - sigma * sigma / 2.0, sigma


@dataclass(frozen=True, slots=True)
class _Family:
    columns: npt.NDArray[np.intp]
    a: FloatArray  # deterministic value / exponential mean / lognormal mu / triangular low
    b: FloatArray  # lognormal sigma / triangular mode
    c: FloatArray  # triangular high


@dataclass(frozen=True)
class ColumnSampler:
    """Draws a (columns x replications) matrix of durations in hours; a None column is always 0."""

    width: int
    families: dict[str, _Family]
    empirical: tuple[tuple[int, FloatArray], ...] = ()
    means: FloatArray = field(default_factory=lambda: np.zeros(0))
    code: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))
    params: FloatArray = field(default_factory=lambda: np.zeros((3, 0)))

    @property
    def gaps(self) -> bool:
        """Tell whether some column has no distribution (and must be zeroed)."""
        return bool((self.code < 0).any())

    @classmethod
    def of(cls, dists: Sequence[Distribution | None]) -> ColumnSampler:
        """Compile a list of distributions (one per column) into a sampler."""
        groups: dict[str, list[tuple[int, float, float, float]]] = {f: [] for f in FAMILIES}
        empirical: list[tuple[int, FloatArray]] = []
        means = np.zeros(len(dists))
        for col, d in enumerate(dists):
            if d is None:
                continue
            k = d.scale
            means[col] = d.mean_h()
            if isinstance(d, Deterministic):
                groups["deterministic"].append((col, d.value * k, 0.0, 0.0))
            elif isinstance(d, Exponential):
                groups["exponential"].append((col, d.mean * k, 0.0, 0.0))
            elif isinstance(d, Lognormal):
                if d.cv == 0.0:
                    groups["deterministic"].append((col, d.mean * k, 0.0, 0.0))
                else:
                    mu, sigma = lognormal_params(d.mean * k, d.cv)
                    groups["lognormal"].append((col, mu, sigma, 0.0))
            elif isinstance(d, Triangular):
                groups["triangular"].append((col, d.low * k, d.mode * k, d.high * k))
            elif isinstance(d, Empirical):
                empirical.append((col, np.asarray(d.samples, dtype=np.float64) * k))
        code = np.full(len(dists), -1, dtype=np.int8)
        params = np.zeros((3, len(dists)))
        for f, name in enumerate(FAMILIES):
            for col, a, b, c in groups[name]:
                code[col] = f
                params[:, col] = (a, b, c)
        for col, _ in empirical:
            code[col] = FAMILIES.index("empirical")
        families = {
            name: _Family(
                np.array([r[0] for r in rows], dtype=np.intp),
                np.array([r[1] for r in rows]),
                np.array([r[2] for r in rows]),
                np.array([r[3] for r in rows]),
            )
            for name, rows in groups.items()
            if rows
        }
        return cls(len(dists), families, tuple(empirical), means, code, params)

    @property
    def random(self) -> bool:
        """Tell whether any column needs random numbers."""
        return any(name != "deterministic" for name in self.families) or bool(self.empirical)

    def draw(self, rng: np.random.Generator, n: int, out: FloatArray | None = None) -> FloatArray:
        """Return a (width, n) matrix of durations in hours: one row per column, one lane per replication.

        `out`, when given, is filled and returned (a buffer reused across blocks).
        """
        if out is None:
            out = np.zeros((self.width, n))
        elif self.gaps:
            out.fill(0.0)
        fam = self.families
        if "deterministic" in fam:
            f = fam["deterministic"]
            out[f.columns, :] = f.a[:, None]
        if "exponential" in fam:
            f = fam["exponential"]
            out[f.columns, :] = rng.standard_exponential((f.columns.size, n)) * f.a[:, None]
        if "lognormal" in fam:
            f = fam["lognormal"]
            z = rng.standard_normal((f.columns.size, n))
            z *= f.b[:, None]
            z += f.a[:, None]
            out[f.columns, :] = np.exp(z, out=z)
        if "triangular" in fam:
            f = fam["triangular"]
            u = rng.random((f.columns.size, n))
            out[f.columns, :] = triangular_ppf(u, f.a[:, None], f.b[:, None], f.c[:, None])
        for col, samples in self.empirical:
            out[col, :] = samples[rng.integers(0, samples.size, size=n)]
        return out

    def draw_at(self, rng: np.random.Generator, cols: npt.NDArray[np.int64]) -> FloatArray:
        """Return one draw for each entry of `cols` (column indices, repeats allowed)."""
        out = np.zeros(cols.size)
        code = self.code[cols]
        a, b, c = self.params[0, cols], self.params[1, cols], self.params[2, cols]
        for f, name in enumerate(FAMILIES):
            mask = code == f
            k = int(np.count_nonzero(mask))
            if k == 0:
                continue
            if name == "deterministic":
                out[mask] = a[mask]
            elif name == "exponential":
                out[mask] = rng.standard_exponential(k) * a[mask]
            elif name == "lognormal":
                out[mask] = np.exp(a[mask] + b[mask] * rng.standard_normal(k))
            elif name == "triangular":
                out[mask] = triangular_ppf(rng.random(k), a[mask], b[mask], c[mask])
            else:
                for col, samples in self.empirical:
                    here = mask & (cols == col)
                    out[here] = samples[rng.integers(0, samples.size, size=int(here.sum()))]
        return out


def triangular_ppf(u: FloatArray, low: FloatArray, mode: FloatArray, high: FloatArray) -> FloatArray:
    """Inverse CDF of the triangular distribution, element-wise with broadcasting parameters."""
    span = high - low
    cut = (mode - low) / span
    left = low + np.sqrt(u * span * (mode - low))
    right = high - np.sqrt((1.0 - u) * span * (high - mode))
    return np.where(u < cut, left, right)


def draw_one(dist: Distribution | None, rng: np.random.Generator) -> float:
    """Draw a single duration in hours (the SimPy reference draws one at a time)."""
    if dist is None:
        return 0.0
    k = dist.scale
    if isinstance(dist, Deterministic):
        return dist.value * k
    if isinstance(dist, Exponential):
        return float(rng.exponential(dist.mean * k))
    if isinstance(dist, Lognormal):
        if dist.cv == 0.0:
            return dist.mean * k
        mu, sigma = lognormal_params(dist.mean * k, dist.cv)
        return float(rng.lognormal(mu, sigma))
    if isinstance(dist, Triangular):
        return float(rng.triangular(dist.low * k, dist.mode * k, dist.high * k))
    return float(rng.choice(np.asarray(dist.samples))) * k


def scaled(dist: Distribution, factor: float) -> Distribution:
    """Return the distribution of `factor` times a draw of `dist` (a liaison shortening a link)."""
    if isinstance(dist, Deterministic):
        return dist.model_copy(update={"value": dist.value * factor})
    if isinstance(dist, Exponential | Lognormal):
        return dist.model_copy(update={"mean": dist.mean * factor})
    if isinstance(dist, Triangular):
        return dist.model_copy(
            update={"low": dist.low * factor, "mode": dist.mode * factor, "high": dist.high * factor}
        )
    return dist.model_copy(update={"samples": tuple(s * factor for s in dist.samples)})
