"""Duration distributions: every family draws what its parameters say, in hours, by matrix or by entry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kizuna.model.scenario import Deterministic, Distribution, Empirical, Exponential, Lognormal, Triangular
from kizuna.sim.distributions import ColumnSampler, draw_one, scaled

FAMILIES: list[Distribution] = [
    Deterministic(value=30, unit="min"),
    Exponential(dist="exponential", mean=2.0),
    Lognormal(dist="lognormal", mean=3.0, cv=0.8),
    Lognormal(dist="lognormal", mean=1.0, cv=0.0),
    Triangular(dist="triangular", low=1.0, mode=2.0, high=6.0),
    Empirical(dist="empirical", samples=(1.0, 2.0, 4.0), unit="d"),
]


def sd_of(d: Distribution) -> float:
    if isinstance(d, Exponential):
        return d.mean_h()
    if isinstance(d, Lognormal):
        return d.mean_h() * d.cv
    if isinstance(d, Triangular):
        a, c, b = d.low, d.mode, d.high
        return math.sqrt((a * a + b * b + c * c - a * b - a * c - b * c) / 18)
    if isinstance(d, Empirical):
        return float(np.std(np.array(d.samples) * d.scale))
    return 0.0


def test_matrix_draws_have_each_columns_mean() -> None:
    sampler = ColumnSampler.of([*FAMILIES, None])
    draws = sampler.draw(np.random.default_rng(1), 40_000)
    assert draws.shape == (len(FAMILIES) + 1, 40_000)
    assert np.all(draws[-1] == 0.0)  # a column without a distribution is zero
    for col, d in enumerate(FAMILIES):
        se = sd_of(d) / math.sqrt(draws.shape[1])
        assert abs(draws[col].mean() - d.mean_h()) <= 5 * se + 1e-12, d
    assert np.all(draws[0] == 0.5)  # 30 minutes
    assert draws[4].min() >= 1.0
    assert draws[4].max() <= 6.0
    assert set(np.unique(draws[5])) == {24.0, 48.0, 96.0}  # days in hours


def test_entry_draws_match_the_matrix_draws_in_distribution() -> None:
    sampler = ColumnSampler.of(FAMILIES)
    cols = np.repeat(np.arange(len(FAMILIES), dtype=np.int64), 20_000)
    values = sampler.draw_at(np.random.default_rng(2), cols)
    for col, d in enumerate(FAMILIES):
        mine = values[cols == col]
        se = sd_of(d) / math.sqrt(mine.size)
        assert abs(mine.mean() - d.mean_h()) <= 5 * se + 1e-12, d


def test_single_draws_for_the_simpy_reference() -> None:
    rng = np.random.default_rng(3)
    for d in FAMILIES:
        values = np.array([draw_one(d, rng) for _ in range(4_000)])
        assert abs(values.mean() - d.mean_h()) <= 5 * sd_of(d) / math.sqrt(values.size) + 1e-12, d
    assert draw_one(None, rng) == 0.0


@pytest.mark.parametrize("d", FAMILIES, ids=lambda d: d.dist)
def test_scaling_scales_the_mean(d: Distribution) -> None:
    assert scaled(d, 0.5).mean_h() == pytest.approx(0.5 * d.mean_h())
