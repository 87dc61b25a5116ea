"""The check that ties the two executions together (issue 12): an exercise played entirely by synthetic
players through the live service, measured from its log, agrees with the simulator's distributions of the
same decision path; a bot whose service times are doubled is caught.

The scenario (fixtures/check.yaml) files one request about sixty times over thirty hours: six steps at five
organizations, two staff each (three at JJOC, which is visited twice), Tokyo office hours with a call-in
at the Ministry of Defense, rework at the MSDF, links across the Pacific. The bots play on a stepped clock
(each action lands at its exact exercise time; docs/exercise.md), so the run is deterministic for a seed.
Every step and both path times (decision, effect) are tested with a two-sample Kolmogorov–Smirnov test,
the family held at 1% by Bonferroni.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kizuna.exercise.aar import Review, log_of, review_and_calibration
from kizuna.exercise.players import PlayerConfig
from kizuna.interop import write_scenario
from kizuna.model import load_scenario
from kizuna.model.scenario import Scenario
from kizuna.service.exercise_runner import run_exercise
from kizuna.store import open_store

FIXTURE = Path(__file__).parent / "fixtures" / "check.yaml"


def play_and_review(scenario: Scenario, folder: Path, *, scale: float) -> tuple[Review, Scenario]:
    result = run_exercise(
        scenario,
        speed=None,
        situation="gray-zone",
        data_dir=folder,
        exercise_id="check",
        config=PlayerConfig(seed=11, service_scale=scale),
    )
    assert not result.team.errors, result.team.errors[:5]
    with open_store(result.database_url, listen=False) as store:
        log = log_of(store)
    review, calibration = review_and_calibration(log, "check", replications=2000, seed=5)
    return review, calibration.scenario


def figures(review: Review) -> list[dict[str, object]]:
    return [
        {
            "step": t.step,
            "n": t.n_measured,
            "ks_D": round(t.ks_statistic, 4),
            "ks_p": round(t.ks_p, 4),
            "ad_p": round(t.ad_p, 4),
            "reject": t.reject,
        }
        for t in review.tests
    ]


@pytest.mark.slow
def test_bots_agree_with_the_simulator_and_doubled_service_times_are_caught(tmp_path: Path) -> None:
    scenario = load_scenario(FIXTURE)
    review, calibrated = play_and_review(scenario, tmp_path / "good", scale=1.0)
    (tmp_path / "good.json").write_text(json.dumps(figures(review), indent=1))
    print("bots as specified:", json.dumps(figures(review)))  # the figures the report quotes
    assert len(review.tests) == 8, "six steps and two path times, each filed often enough to test"
    assert all(t.n_measured >= 40 for t in review.tests)
    assert review.agrees, figures(review)
    assert 0.05 < sum(p.inside_90 or False for p in review.paths) / len(review.paths) <= 1.0

    # The calibrated scenario is a scenario file that loads and validates, and stays near the truth.
    path = write_scenario(calibrated, tmp_path / "calibrated.yaml")
    reloaded = load_scenario(path)
    assert reloaded.id == "exercise-check-calibrated"
    assert reloaded.parameters is not None

    short = FIXTURE.read_text(encoding="utf-8").replace("horizon_h: 30", "horizon_h: 10")
    (tmp_path / "short.yaml").write_text(short, encoding="utf-8")
    doubled, recalibrated = play_and_review(
        load_scenario(tmp_path / "short.yaml"), tmp_path / "bad", scale=2.0
    )
    print("bots with doubled service times:", json.dumps(figures(doubled)))
    assert not doubled.agrees
    effect = next(t for t in doubled.tests if t.step == "effect")
    assert effect.reject
    assert effect.measured_median_h > effect.simulated_median_h
    # Calibration sees the work: refitted means stay near the scenario's for the bots as specified and
    # move up toward double for the doubled ones.
    good = [r.mean_h / r.prior_mean_h for r in review.calibration if r.n >= 10]
    bad = [r.mean_h / r.prior_mean_h for r in doubled.calibration if r.n >= 10]
    print(
        "calibrated/prior mean, as specified:",
        [round(x, 2) for x in good],
        "doubled:",
        [round(x, 2) for x in bad],
    )
    assert good
    assert all(0.7 < x < 1.4 for x in good)
    assert bad
    assert all(x > 1.3 for x in bad)
    assert recalibrated.id == "exercise-check-calibrated"
