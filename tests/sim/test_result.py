"""Statistics: histogram quantiles are close to sample quantiles, Cliff's delta matches its definition."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.model.scenario import Arrival, Exponential
from kizuna.sim.engine import EngineInput, Instance, PathTemplate, Station, StepSpec, Stream
from kizuna.sim.result import (
    BINS,
    GROWTH,
    INSTANCE_HISTOGRAMS,
    bin_edges,
    bin_index,
    cliffs_delta,
    hist_quantile,
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
