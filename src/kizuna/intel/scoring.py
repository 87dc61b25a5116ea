"""Fusion scored against synthetic truth with GOSPA (Stone Soup's metric), beside what the design predicts.

At each scored scan, the confirmed tracks of an audience's picture are compared with the truth that
audience's sensors can observe, with Stone Soup's `GOSPAMetric` (p = 2, alpha = 2, cutoff c): the squared
distance is the sum of squared errors of assigned pairs plus c²/2 per missed target and per false track.

What the design predicts: a Kalman filter whose model matches the motion reports its own error, so the
expected squared error of an assigned track is the trace of its position covariance. The predicted
localisation term is therefore the sum of those traces over the assigned pairs, and the ratio of
measured to predicted (a normalized estimation error squared per degree of freedom) is near 1 for a
consistent filter: for n independent 3-D errors it is chi-square with 3n degrees of freedom over 3n.
Once every observable target is confirmed (after a warm-up of `confirm_after` revisits) no target
should be missed and, with false alarms rare and uncorrelated, no false track confirmed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kizuna.intel.audience import Audience
from kizuna.intel.fusion import POS, FusionEngine, FusionParams, TrackEstimate
from kizuna.intel.synthetic import PictureFile, SyntheticPicture


@dataclass(frozen=True, slots=True)
class GospaPoint:
    """GOSPA at one scored scan.

    Attributes:
        seconds: Time since the picture's start.
        distance: The GOSPA distance (m).
        localisation: Sum of squared errors of assigned pairs (m²).
        predicted: Sum of the assigned tracks' position-covariance traces (m²).
        missed: Observable targets with no track within the cutoff.
        false: Confirmed tracks with no target within the cutoff.
        truths: Observable targets.
        tracks: Confirmed tracks.
    """

    seconds: float
    distance: float
    localisation: float
    predicted: float
    missed: int
    false: int
    truths: int
    tracks: int


@dataclass(frozen=True, slots=True)
class FusionScore:
    """A picture's fusion scored for one audience over the steady state (after the warm-up)."""

    picture: str
    audience: str
    sensors: tuple[str, ...]
    cutoff_m: float
    warmup_s: float
    points: tuple[GospaPoint, ...]

    def _steady(self) -> list[GospaPoint]:
        return [p for p in self.points if p.seconds >= self.warmup_s]

    @property
    def mean_gospa_m(self) -> float:
        """Mean GOSPA distance over the steady state."""
        steady = self._steady()
        return float(np.mean([p.distance for p in steady])) if steady else math.nan

    @property
    def predicted_gospa_m(self) -> float:
        """Mean GOSPA the design predicts: the root of the summed covariance traces (nothing missed)."""
        steady = self._steady()
        return float(np.mean([math.sqrt(p.predicted) for p in steady])) if steady else math.nan

    @property
    def consistency(self) -> float:
        """Measured over predicted squared error of assigned tracks (1 for a consistent filter)."""
        steady = self._steady()
        predicted = sum(p.predicted for p in steady)
        return sum(p.localisation for p in steady) / predicted if predicted else math.nan

    @property
    def missed_rate(self) -> float:
        """Missed targets per observable target over the steady state."""
        steady = self._steady()
        truths = sum(p.truths for p in steady)
        return sum(p.missed for p in steady) / truths if truths else 0.0

    @property
    def false_rate(self) -> float:
        """False tracks per observable target over the steady state."""
        steady = self._steady()
        truths = sum(p.truths for p in steady)
        return sum(p.false for p in steady) / truths if truths else 0.0

    @property
    def samples(self) -> int:
        """Assigned track-target pairs over the steady state (the degrees of freedom over three)."""
        return sum(p.truths - p.missed for p in self._steady())

    def consistency_bounds(self, probability: float = 0.999) -> tuple[float, float]:
        """Return the interval the consistency falls in with `probability` for a consistent filter.

        The squared errors of n assigned pairs, each normalized by its covariance, sum to chi-square with
        3n degrees of freedom; dividing by 3n gives the ratio. (Errors of one track at successive
        scans are correlated, so the real spread is wider; the bounds are for independent samples.)
        """
        from scipy.stats import chi2

        dof = 3 * max(self.samples, 1)
        tail = (1 - probability) / 2
        return float(chi2.ppf(tail, dof) / dof), float(chi2.ppf(1 - tail, dof) / dof)


def score_picture(
    picture: PictureFile,
    *,
    audience: Audience | None = None,
    params: FusionParams | None = None,
    cutoff_m: float = 5_000.0,
    warmup_s: float = 60.0,
    every: int = 1,
    seed: int | None = None,
) -> FusionScore:
    """Fuse a picture's scans for an audience and score every `every`-th scan against the truth.

    Args:
        audience: Whose picture: the scans of sensors whose marking the audience sees; all by default.
        params: The fusion parameters (the picture's origin as frame by default).
        cutoff_m: GOSPA's cutoff c.
        warmup_s: Points before this are reported but not summarized (tracks are still confirming).
        every: Score every n-th fused scan.
        seed: Another seed than the file's.
    """
    generator = SyntheticPicture(picture, seed=seed)
    params = params or FusionParams(frame=generator.frame)
    visible = [s for s in picture.sensors if audience is None or audience.sees(s.to_marking())]
    names = {s.id for s in visible}
    engine = FusionEngine(params)
    points: list[GospaPoint] = []
    fused = 0
    for generated in generator.scans():
        if generated.sensor.id not in names:
            continue
        engine.ingest(generated.to_scan(params.frame))
        fused += 1
        if fused % every:
            continue
        seconds = (generated.time - picture.start).total_seconds()
        ids, lat, lon, alt = generator.truth_at(seconds)
        observable = np.zeros(len(ids), dtype=bool)
        for sensor in visible:
            observable |= generator.observable(sensor, lat, lon, alt)
        truth = params.frame.to_enu(lat[observable], lon[observable], alt[observable]).reshape(-1, 3)
        points.append(_gospa(seconds, engine.estimates(), truth, cutoff_m))
    return FusionScore(
        picture=picture.id,
        audience=audience.key if audience else "all",
        sensors=tuple(sorted(names)),
        cutoff_m=cutoff_m,
        warmup_s=warmup_s,
        points=tuple(points),
    )


def _gospa(seconds: float, tracks: Iterable[TrackEstimate], truth: np.ndarray, cutoff: float) -> GospaPoint:
    from datetime import UTC, datetime

    from stonesoup.measures import Euclidean
    from stonesoup.metricgenerator.ospametric import GOSPAMetric
    from stonesoup.types.state import State

    when = datetime(2000, 1, 1, tzinfo=UTC)
    tracks = list(tracks)
    measured = [State(e.x.reshape(6, 1), timestamp=when) for e in tracks]
    truths = []
    for position in truth:
        state = np.zeros((6, 1))
        state[POS, 0] = position
        truths.append(State(state, timestamp=when))
    metric = GOSPAMetric(c=cutoff, p=2, measure=Euclidean(mapping=tuple(POS)))
    if not measured and not truths:
        return GospaPoint(seconds, 0.0, 0.0, 0.0, 0, 0, 0, 0)
    result, assignment = metric.compute_gospa_metric(measured, truths)
    value = result.value
    predicted = 0.0
    for truth_index, track_index in enumerate(np.asarray(assignment, dtype=int).tolist()):
        del truth_index
        if track_index >= 0:
            p = tracks[track_index].p
            predicted += float(np.trace(p[POS[:, None], POS]))
    half = cutoff**2 / 2
    return GospaPoint(
        seconds=seconds,
        distance=float(value["distance"]),
        localisation=float(value["localisation"]),
        predicted=predicted,
        missed=round(float(value["missed"]) / half),
        false=round(float(value["false"]) / half),
        truths=len(truths),
        tracks=len(measured),
    )
