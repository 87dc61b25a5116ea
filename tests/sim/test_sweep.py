"""Sweeps: designs, the effect ranking, scenario overrides, and the local and Dask backends."""

from __future__ import annotations

import math
import os
from functools import cache
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import InvalidQuery, UnknownId
from kizuna.model.scenario import Scenario, load_scenario
from kizuna.sim.sweep import (
    Backend,
    Design,
    Factor,
    SweepResult,
    apply_overrides,
    design_points,
    parse_response,
    parse_vary,
    rank_effects,
    run_points,
    sweep,
    tornado_figure,
)


@cache
def senkaku() -> Scenario:
    return load_scenario("senkaku-gray-zone")


# -- parsing and designs -----------------------------------------------------------------------------------


def test_vary_accepts_a_range_a_range_with_levels_and_a_list() -> None:
    assert parse_vary("a.b=1:3") == Factor(parameter="a.b", low=1, high=3)
    assert parse_vary("a.b=1:3:3").levels == (1.0, 2.0, 3.0)
    assert parse_vary("a.b=3,1,2") == Factor(parameter="a.b", low=1, high=3, levels=(1.0, 2.0, 3.0))


@pytest.mark.parametrize("text", ["a.b", "=1:2", "a.b=x:2", "a.b=1:2:1", "a.b=3:1", "a.b=1:2:3:4"])
def test_a_malformed_vary_is_an_invalid_query(text: str) -> None:
    with pytest.raises(InvalidQuery):
        parse_vary(text)


def test_a_grid_holds_every_combination_of_levels() -> None:
    factors = [parse_vary("a=0:1"), parse_vary("b=1,2")]
    points = design_points(factors, Design.GRID, points=0, grid_levels=3)
    assert len(points) == 6
    assert {(p["a"], p["b"]) for p in points} == {(a, b) for a in (0.0, 0.5, 1.0) for b in (1.0, 2.0)}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 2**32 - 1), low=st.floats(-5, 5), width=st.floats(0.1, 10))
def test_a_latin_hypercube_puts_one_point_in_every_stratum_of_every_factor(
    n: int, seed: int, low: float, width: float
) -> None:
    factors = [Factor(parameter="x", low=low, high=low + width), Factor(parameter="y", low=0, high=1)]
    points = design_points(factors, Design.LHS, points=n, seed=seed)
    for factor in factors:
        strata = sorted(min(int(factor.scale(p[factor.parameter]) * n), n - 1) for p in points)
        assert strata == list(range(n))


def test_the_same_seed_lays_out_the_same_hypercube() -> None:
    factors = [parse_vary("x=0:1"), parse_vary("y=1,2,3")]
    assert design_points(factors, Design.LHS, points=9, seed=4) == design_points(
        factors, Design.LHS, points=9, seed=4
    )


def test_a_factor_varied_twice_is_refused() -> None:
    with pytest.raises(InvalidQuery, match="twice"):
        design_points([parse_vary("x=0:1"), parse_vary("x=1,2")], Design.GRID, points=0)


# -- the ranking ------------------------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(coef=st.lists(st.floats(-20, 20), min_size=3, max_size=3), seed=st.integers(0, 1000))
def test_the_ranking_recovers_the_swings_of_a_linear_response(coef: list[float], seed: int) -> None:
    factors = [Factor(parameter=f"p{i}", low=i, high=i + 2 * (i + 1)) for i in range(3)]
    points = design_points(factors, Design.LHS, points=20, seed=seed)
    responses = [
        5 + sum(c * f.scale(p[f.parameter]) for c, f in zip(coef, factors, strict=True)) for p in points
    ]
    effects, r2 = rank_effects(factors, points, responses)
    swings = {e.parameter: e.swing for e in effects}
    for c, f in zip(coef, factors, strict=True):
        assert swings[f.parameter] == pytest.approx(c, abs=1e-6)
    assert [abs(e.swing) for e in effects] == sorted((abs(e.swing) for e in effects), reverse=True)
    assert math.isnan(r2) or r2 == pytest.approx(1.0)


def test_points_without_a_finite_response_are_left_out_of_the_fit() -> None:
    factors = [Factor(parameter="x", low=0, high=1)]
    points = [{"x": 0.0}, {"x": 0.5}, {"x": 1.0}, {"x": 0.25}]
    effects, _ = rank_effects(factors, points, [1.0, 2.0, 3.0, math.nan])
    assert effects[0].swing == pytest.approx(2.0)


# -- scenarios --------------------------------------------------------------------------------------------


def test_overrides_set_existing_parameters_and_create_organization_entries() -> None:
    base = senkaku()
    changed = apply_overrides(
        base,
        {"organizations.jp-cabinet.servers": 2.6, "parameters.links.same-country.delay.mean": 40.0},
    )
    assert changed.parameters is not None
    assert changed.parameters.servers("jp-cabinet") == 3
    link = changed.parameters.links["same-country"].delay
    assert link.mean_h() == pytest.approx(40 / 60)
    created = apply_overrides(base, {"organizations.acm-acg.servers": 4})
    assert created.parameters is not None
    assert created.parameters.servers("acm-acg") == 4
    assert base.parameters is not None
    assert base.parameters.servers("jp-cabinet") == 1, "the original scenario is unchanged"


def test_an_override_that_leads_nowhere_names_what_is_there() -> None:
    with pytest.raises(InvalidQuery, match="links"):
        apply_overrides(senkaku(), {"lnks.same-country.delay.mean": 1.0})
    with pytest.raises(InvalidQuery, match="invalid"):
        apply_overrides(senkaku(), {"organizations.jp-cabinet.servers": 0})


def test_a_response_names_a_request_a_measure_and_a_statistic() -> None:
    assert parse_response("maritime-security-op.decision.p90", senkaku()) == (
        "maritime-security-op",
        "decision",
        "p90",
    )
    with pytest.raises(InvalidQuery):
        parse_response("maritime-security-op.decision", senkaku())
    with pytest.raises(UnknownId):
        parse_response("nope.effect.mean", senkaku())


FACTORS = (
    "organizations.jp-cabinet.steps.approve.service.mean=0.25:4",
    "links.same-country.delay.mean=1:30",
    "organizations.jp-mod.servers=1,3",
)


def run_senkaku(**kwargs: Any) -> SweepResult:
    return sweep(
        senkaku(),
        [parse_vary(v) for v in FACTORS],
        design=Design.LHS,
        points=6,
        replications=48,
        seed=11,
        response="maritime-security-op.decision.mean",
        **kwargs,
    )


def test_a_sweep_ranks_the_cabinet_above_a_parameter_that_cannot_matter() -> None:
    result = run_senkaku(backend=Backend.LOCAL, workers=1)
    by_name = {e.parameter: e for e in result.effects}
    cabinet = by_name["organizations.jp-cabinet.steps.approve.service.mean"]
    assert cabinet.swing > 0, "a slower cabinet decision delays the decision"
    # MOD staff rarely queue in this scenario (its requests come hours apart): its staff size barely matters
    assert abs(cabinet.swing) > abs(by_name["organizations.jp-mod.servers"].swing)
    fig = tornado_figure(result)
    assert len(fig.axes[0].patches) == 2 * len(FACTORS)


def test_local_processes_give_the_same_result_as_one_process() -> None:
    single = run_senkaku(backend=Backend.LOCAL, workers=1)
    parallel = run_senkaku(backend=Backend.LOCAL, workers=2)
    assert single.responses == parallel.responses


@pytest.mark.slow
def test_a_dask_cluster_gives_the_same_result_as_local_processes() -> None:
    from distributed import LocalCluster

    os.environ.pop("MALLOC_TRIM_THRESHOLD_", None)  # Dask workers run twice as slow with it set
    local = run_senkaku(backend=Backend.LOCAL, workers=1)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = run_senkaku(backend=Backend.DASK, address=cluster.scheduler_address)
    assert on_dask.responses == local.responses
    assert np.all(np.isfinite(on_dask.responses))


def test_run_points_keeps_the_design_order() -> None:
    points = [{"x": float(i)} for i in range(7)]
    done: list[int] = []
    out = run_points(_square, points, workers=2, progress=done.append)
    assert [o["y"] for o in out] == [float(i * i) for i in range(7)]
    assert sum(done) == 7


def _square(point: dict[str, float]) -> dict[str, float]:
    return {"y": point["x"] ** 2}


@pytest.mark.parametrize("tiny", [1e-13, 5e-12, -3e-14])
def test_a_response_that_varies_by_rounding_only_has_no_r_squared(tiny: float) -> None:
    """5 + 1e-13 x is constant to within rounding: the fit's R² is undefined (NaN), not a noisy 0.9999."""
    factors = [Factor(parameter=f"p{i}", low=i, high=i + 2 * (i + 1)) for i in range(3)]
    points = design_points(factors, Design.LHS, points=20, seed=0)
    responses = [5 + tiny * factors[0].scale(p["p0"]) for p in points]
    effects, r2 = rank_effects(factors, points, responses)
    assert math.isnan(r2)
    assert {e.parameter: e.swing for e in effects}["p0"] == pytest.approx(tiny, abs=1e-9)
    _, r2_visible = rank_effects(factors, points, [5 + 1e-6 * factors[0].scale(p["p0"]) for p in points])
    assert r2_visible == pytest.approx(1.0)
