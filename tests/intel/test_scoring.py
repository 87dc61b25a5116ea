"""Fusion against synthetic truth, within the tolerance the design predicts (docs/intel.md, 'Accuracy').

The prediction: a Kalman filter whose model matches the motion reports its own error, so the summed
squared error of assigned tracks should equal the summed traces of their position covariances (ratio 1);
once every observable target has been confirmed, none is missed and no false track is confirmed. The
tolerance on the ratio comes from chi-square: n assigned pairs give 3n degrees of freedom, but a track's
errors at successive scans are correlated over its filter's memory (a few updates), so the bound uses
n/10 effective samples. A filter may be more cautious than its covariance says (ratio below 1, e.g.
the ballistic missile's acceleration is absorbed as process noise), never more confident.
"""

from __future__ import annotations

import math

import pytest
from scipy.stats import chi2

from kizuna.intel import Audience, audiences_of
from kizuna.intel.scoring import score_picture
from kizuna.intel.synthetic import load_picture

#: Missed targets and false tracks, each, per observable target in the steady state.
CARDINALITY_RATE = 0.01


@pytest.mark.slow
@pytest.mark.parametrize("nations", [("USA",), ("JPN",), ("JPN", "USA")], ids=",".join)
def test_each_audience_is_fused_within_the_predicted_tolerance(nations: tuple[str, ...]) -> None:
    picture = load_picture("senkaku-picture")
    audience = next(
        a for a in audiences_of(s.to_marking() for s in picture.sensors) if a.nations == set(nations)
    )
    score = score_picture(picture, audience=audience, every=10)
    assert score.samples > 300

    effective = 3 * score.samples / 10
    upper = chi2.ppf(0.999, effective) / effective
    assert 0.5 < score.consistency < upper, (score.consistency, upper)
    assert score.missed_rate <= CARDINALITY_RATE
    assert score.false_rate <= CARDINALITY_RATE

    steady = [p for p in score.points if p.seconds >= score.warmup_s]
    truths = sum(p.truths for p in steady) / len(steady)
    allowed = math.sqrt(
        sum(p.predicted for p in steady) / len(steady) * upper
        + score.cutoff_m**2 / 2 * 2 * CARDINALITY_RATE * truths
    )
    assert score.mean_gospa_m < allowed, (score.mean_gospa_m, allowed)


def test_a_japan_only_radar_is_not_in_the_us_score() -> None:
    picture = load_picture("senkaku-picture")
    us = score_picture(picture, audience=Audience.parse("USA@secret"), every=50, warmup_s=0)
    assert "jasdf-miyako-radar" not in us.sensors
    assert "us-tps80-yonaguni" in us.sensors
