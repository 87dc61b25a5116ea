"""Sweeps a planner can set up: what can be varied, the nearest name on a typo, simulated values drawn."""

from __future__ import annotations

import math

import pytest

from kizuna.errors import InvalidQuery
from kizuna.model import load_scenario, load_structure
from kizuna.sim.sweep import (
    Design,
    FactorEffect,
    SweepResult,
    check_factors,
    mean_interval,
    parse_vary,
    rank_effects,
    sweep_parameters,
    tornado_figure,
)


def test_the_list_holds_every_number_of_the_parameters_and_each_organizations_staff() -> None:
    sc = load_scenario("okinawa-earthquake")
    orgs = [o.id for o in load_structure("us-japan-2015").organizations]
    listed = {p.path: p for p in sweep_parameters(sc, orgs)}
    assert listed["defaults.servers"].value is not None
    assert listed["organizations.acm-acg.duty.call_in.mean"].value == 2.0
    assert listed["organizations.acm-acg.servers"].value is None  # not set: the defaults apply
    assert all(f"organizations.{o}.servers" in listed for o in orgs)
    assert listed["organizations.acm-acg.duty.call_in.mean"].why  # its source or assumption, in words


def test_a_typo_names_the_nearest_parameter() -> None:
    sc = load_scenario("taiwan-contingency")
    known = sweep_parameters(sc, [])
    with pytest.raises(InvalidQuery, match=r"did you mean 'defaults\.servers'\?.*--list"):
        check_factors([parse_vary("defaults.servrs=1:3")], known, scenario=sc.id)
    check_factors([parse_vary("parameters.defaults.servers=1:3")], known, scenario=sc.id)


def test_effects_carry_the_simulated_values_at_each_end_with_an_interval() -> None:
    factors = [parse_vary("a=0:1"), parse_vary("b=0:1")]
    points = [{"a": a, "b": b} for a in (0.0, 0.5, 1.0) for b in (0.0, 0.5, 1.0)]
    responses = [10 + 4 * p["a"] + (p["b"] - 0.5) * 0.2 for p in points]
    effects, r2 = rank_effects(factors, points, responses)
    top = effects[0]
    assert isinstance(top, FactorEffect)
    assert top.parameter == "a"
    assert r2 > 0.99
    assert sorted(top.simulated_low) == pytest.approx([9.9, 10.0, 10.1])
    mean, low, high = top.high_interval
    assert mean == pytest.approx(14.0)
    assert low < mean < high
    result = SweepResult(
        scenario="s",
        response="x.effect.mean",
        design=Design.GRID,
        replications=10,
        seed=0,
        factors=tuple(factors),
        points=tuple(points),
        responses=tuple(responses),
        effects=effects,
        r_squared=r2,
    )
    fig = tornado_figure(result)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "simulated mean, 95% interval" in legend
    assert "simulated design points" in legend


def test_an_interval_of_nothing_is_not_a_number() -> None:
    assert all(math.isnan(v) for v in mean_interval([]))
    assert mean_interval([2.0]) == (2.0, 2.0, 2.0)
