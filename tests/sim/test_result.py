"""Statistics: histogram quantiles are close to sample quantiles, Cliff's delta matches its definition."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.model.scenario import Arrival, Deterministic, Exponential
from kizuna.sim.engine import EngineInput, Instance, PathTemplate, Station, StepSpec, Stream
from kizuna.sim.result import (
    BINS,
    GROWTH,
    INSTANCE_HISTOGRAMS,
    bin_edges,
    bin_index,
    cliffs_delta,
    hist_quantile,
    ratio_estimate,
    ratio_moments,
)
from kizuna.sim.runner import simulate_inputs


def hist(values: np.ndarray) -> np.ndarray:
    return np.bincount(bin_index(values), minlength=BINS)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    scale=st.floats(1e-3, 1e3),
    q=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
)
def test_histogram_quantiles_are_within_one_bin_of_the_sample_quantile(
    seed: int, scale: float, q: float
) -> None:
    values = np.random.default_rng(seed).lognormal(0.0, 1.0, size=2_000) * scale
    est = hist_quantile(hist(values), q)
    exact = float(np.quantile(values, q, method="inverted_cdf"))
    assert exact / GROWTH <= est <= exact * GROWTH


def test_bins_cover_zero_to_overflow() -> None:
    edges = bin_edges()
    assert edges[0] == 0.0
    assert edges[-1] == np.inf
    assert np.all(np.diff(edges[1:-1]) > 0)
    assert bin_index(np.array([0.0, 1e-9, 1e9])).tolist() == [0, 0, BINS - 1]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31), shift=st.floats(-2.0, 2.0))
def test_cliffs_delta_from_histograms_matches_the_pairwise_definition(seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a = rng.lognormal(shift, 1.0, size=300)
    b = rng.lognormal(0.0, 1.0, size=200)
    ha, hb = hist(a), hist(b)
    pairwise = float(np.mean(np.sign(a[:, None] - b[None, :])))
    # Pairs within one 1% bin count as ties in the histogram version.
    same_bin = float(np.mean(bin_index(a)[:, None] == bin_index(b)[None, :]))
    assert abs(cliffs_delta(ha, hb) - pairwise) <= same_bin + 1e-12


def two_structures() -> list[EngineInput]:
    def one(structure: str, servers: int) -> EngineInput:
        stream = Stream(Arrival(process="poisson", rate_per_h=1.8, count=20))
        template = PathTemplate("r", (StepSpec("a", 0, Exponential(dist="exponential", mean=1.0)),), 0, 0)
        instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(20))
        return EngineInput("t", structure, (Station("desk", servers),), (template,), instances, (stream,))

    return [one("slow", 2), one("fast", 4)]


def test_structures_are_compared_with_a_difference_in_means_and_cliffs_delta() -> None:
    result = simulate_inputs(two_structures(), scenario="t", replications=3_000, seed=1, workers=1)
    (cmp,) = result.comparisons()
    assert (cmp.a, cmp.b, cmp.request) == ("fast", "slow", "r")
    assert cmp.ci_low_h <= cmp.diff_mean_h <= cmp.ci_high_h
    assert cmp.ci_high_h < 0  # four servers are faster than two
    assert -1.0 <= cmp.cliffs_delta < 0
    data = json.loads(json.dumps(result.to_json()))
    assert set(data) >= {"scenario", "replications", "seed", "structures", "comparisons"}
    req = data["structures"]["fast"]["requests"]["r"]
    assert set(req) >= {"mean_h", "p50_h", "p90_h", "p99_h", "p_deadline"}
    assert req["p50_h"] <= req["p90_h"] <= req["p99_h"]
    org = data["structures"]["fast"]["organizations"]["desk"]
    assert set(org) >= {"utilization", "delay_share"}
    assert org["utilization"] == pytest.approx(1.8 / 4, rel=0.15)


def test_many_filings_keep_exact_means_and_request_quantiles() -> None:
    count = INSTANCE_HISTOGRAMS + 10
    stream = Stream(Arrival(process="deterministic", interval_h=1.0, count=count))
    template = PathTemplate("r", (StepSpec("a", 0, Exponential(dist="exponential", mean=0.5)),), 0, 0)
    instances = tuple(Instance(0, k + 1, None, 0, k) for k in range(count))
    inp = EngineInput("t", "s", (Station("desk", 1),), (template,), instances, (stream,))
    s = simulate_inputs([inp], scenario="t", replications=50, seed=4, workers=1).structures["s"]
    first, last = s.instances["r#1"], s.instances[f"r#{count}"]
    assert first.effect.p50_h > 0
    assert last.effect.mean_h > 0
    assert np.isnan(last.effect.p50_h)  # past the cap: no histogram of its own
    assert s.requests["r"].effect.n == 50 * count
    assert s.requests["r"].effect.p50_h > 0


# -- quantiles: within the spread of the samples in their bin, exact for constant times ------------------


def extremes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low, high = np.full(BINS, np.inf), np.full(BINS, -np.inf)
    np.minimum.at(low, bin_index(values), values)
    np.maximum.at(high, bin_index(values), values)
    return low, high


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    scale=st.floats(1e-3, 1e3),
    q=st.sampled_from([0.5, 0.9, 0.95, 0.99]),
    points=st.integers(0, 6),
)
def test_histogram_quantiles_lie_within_their_bins_sample_spread(
    seed: int, scale: float, q: float, points: int
) -> None:
    rng = np.random.default_rng(seed)
    values = rng.lognormal(0.0, 1.0, size=2_000) * scale
    if points:  # point masses, as deterministic steps, office openings and rework multiples make
        values = np.concatenate([values, np.repeat(rng.lognormal(0.0, 1.0, size=points) * scale, 300)])
    est = hist_quantile(hist(values), q, *extremes(values))
    exact = float(np.quantile(values, q, method="inverted_cdf"))
    k = bin_index(np.array([exact]))[0]
    inside = values[bin_index(values) == k]
    assert inside.min() <= est <= inside.max()  # so within one bin (1%) of the sample quantile
    if np.all(inside == exact):
        assert est == exact


@given(value=st.floats(1e-3, 1e4), q=st.sampled_from([0.5, 0.9, 0.95, 0.99]))
def test_a_constant_time_has_exact_quantiles(value: float, q: float) -> None:
    values = np.full(500, value)
    assert hist_quantile(hist(values), q, *extremes(values)) == value
    # Without the bin extremes the estimate is only within the bin: up to 1% off (issue 8, item 17).
    assert abs(hist_quantile(hist(values), q) - value) <= (GROWTH - 1) * value


def test_a_deterministic_path_reports_its_exact_times() -> None:
    template = PathTemplate("r", (StepSpec("a", 0, Deterministic(value=12.345)),), 0, 0)
    inp = EngineInput("t", "s", (Station("desk", 1),), (template,), (Instance(0),))
    r = simulate_inputs([inp], scenario="t", replications=50, seed=1, workers=1).structures["s"].requests["r"]
    assert (r.effect.p50_h, r.effect.p90_h, r.effect.p99_h) == (12.345, 12.345, 12.345)
    assert r.quantile("effect", 0.25) == 12.345


# -- standard errors: between replications, from per-replication totals ----------------------------------


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    rows=st.integers(1, 4),
    lanes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
    fixed=st.booleans(),
)
def test_blocks_combine_to_the_ratio_estimators_standard_error(
    seed: int, rows: int, lanes: list[int], fixed: bool
) -> None:
    """Centred per-block sums combine exactly into the one-batch delta-method standard error."""
    rng = np.random.default_rng(seed)
    blocks = []
    for k, n in enumerate(lanes):
        # Horizon arrivals file a random number per replication (0 included); one replication files one.
        counts = np.full((rows, n), 3.0) if fixed else rng.integers(0, 5, size=(rows, n)).astype(float)
        if k == 0:
            counts[:, 0] = np.maximum(counts[:, 0], 1.0)
        sums = counts * rng.lognormal(1.0, 1.0, size=(rows, n)) * 10.0
        blocks.append((sums, counts))
    total = sum(lanes)
    s, n, se = ratio_estimate(np.stack([ratio_moments(a, b) for a, b in blocks]), total)
    sums = np.concatenate([a for a, _ in blocks], axis=1)
    counts = np.concatenate([b for _, b in blocks], axis=1)
    np.testing.assert_allclose(s, sums.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(n, counts.sum(axis=1), rtol=1e-12)
    m = sums.sum(axis=1) / counts.sum(axis=1)
    resid = sums - m[:, None] * counts
    if total == 1:
        assert np.isnan(se).all()
        return
    direct = np.sqrt((resid**2).sum(axis=1) * total / (total - 1)) / counts.sum(axis=1)
    np.testing.assert_allclose(se, direct, rtol=1e-9, atol=1e-12)
    if fixed:  # equal counts: the standard error of the mean of per-replication means
        lane_means = sums / counts
        np.testing.assert_allclose(se, lane_means.std(axis=1, ddof=1) / np.sqrt(total), rtol=1e-9)


def test_the_json_reports_standard_errors_of_waits_and_utilization() -> None:
    result = simulate_inputs(two_structures(), scenario="t", replications=200, seed=1, workers=1)
    data = json.loads(json.dumps(result.to_json()))
    org = data["structures"]["slow"]["organizations"]["desk"]
    assert {"mean_wait_h", "mean_wait_se_h", "p_wait", "p_wait_se", "utilization", "utilization_se"} <= set(
        org
    )
    assert 0 < org["mean_wait_se_h"] < org["mean_wait_h"]
    assert 0 < org["p_wait_se"] < org["p_wait"]
    req = data["structures"]["slow"]["requests"]["r"]
    assert 0 < req["decision"]["se_h"] == req["effect"]["se_h"]  # one step: decision is effect
