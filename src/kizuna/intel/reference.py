"""Stone Soup's own tracker, configured as `FusionEngine` is: the reference the engine is checked against.

`StoneSoupFusion` wraps a `MultiTargetTracker` built from Stone Soup components — a Kalman predictor and
updater (constant velocity), a `DistanceHypothesiser` with the Mahalanobis measure and the gate as the
missed distance, `GNNWith2DAssignment`, an `UpdateTimeDeleter` and a `SimpleMeasurementInitiator`. The
only additions are the motion bands: a predictor and an initiator that pick the band's process noise
and prior speed by the track's height, delegating to stock Stone Soup components. Fed the same scans,
its tracks must equal the engine's (tests/intel/test_fusion_reference.py); `kizuna bench fusion` runs
it as the naive baseline (one fusion for everyone).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from kizuna.intel.fusion import POS, FusionParams, Scan, TrackEstimate, track_id

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(time_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=time_us)


def _us(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class StoneSoupFusion:
    """A Stone Soup `MultiTargetTracker` fed scan by scan, reporting `TrackEstimate`s like the engine."""

    def __init__(self, params: FusionParams) -> None:
        """Build the tracker from Stone Soup components for these parameters."""
        from stonesoup.dataassociator.neighbour import GNNWith2DAssignment
        from stonesoup.deleter.time import UpdateTimeDeleter
        from stonesoup.hypothesiser.distance import DistanceHypothesiser
        from stonesoup.initiator.base import Initiator
        from stonesoup.initiator.simple import SimpleMeasurementInitiator
        from stonesoup.measures import Mahalanobis
        from stonesoup.models.transition.linear import (
            CombinedLinearGaussianTransitionModel,
            ConstantVelocity,
        )
        from stonesoup.predictor.base import Predictor
        from stonesoup.predictor.kalman import KalmanPredictor
        from stonesoup.tracker.simple import MultiTargetTracker
        from stonesoup.types.state import GaussianState
        from stonesoup.updater.kalman import KalmanUpdater

        self.params = params
        frame = params.frame
        models = [CombinedLinearGaussianTransitionModel([ConstantVelocity(b.q)] * 3) for b in params.bands]
        predictors = [KalmanPredictor(model) for model in models]

        def band_of(state_vector: Any) -> int:
            position = np.asarray(state_vector, dtype=float).ravel()[POS]
            return int(params.band_index(np.atleast_1d(frame.height(position)))[0])

        class BandedPredictor(Predictor):  # type: ignore[misc]
            """Predict with the Kalman predictor of the motion band of the prior's height."""

            def predict(self, prior: Any, timestamp: Any = None, **kwargs: Any) -> Any:
                return predictors[band_of(prior.state_vector)].predict(prior, timestamp=timestamp, **kwargs)

        initiators = [
            SimpleMeasurementInitiator(
                prior_state=GaussianState(np.zeros((6, 1)), np.diag([0.0, b.prior_speed_m_s**2] * 3)),
                measurement_model=None,
            )
            for b in params.bands
        ]

        class BandedInitiator(Initiator):  # type: ignore[misc]
            """Start each track with the prior of the motion band of its first report's height."""

            def initiate(self, detections: Any, timestamp: Any, **kwargs: Any) -> Any:
                by_band: dict[int, set[Any]] = {}
                for detection in detections:
                    by_band.setdefault(band_of(_full(detection.state_vector)), set()).add(detection)
                tracks: set[Any] = set()
                for band, group in by_band.items():
                    tracks |= initiators[band].initiate(group, timestamp, **kwargs)
                return tracks

        def _full(measurement: Any) -> Any:
            state = np.zeros(6)
            state[POS] = np.asarray(measurement, dtype=float).ravel()
            return state

        updater = KalmanUpdater(measurement_model=None)
        hypothesiser = DistanceHypothesiser(
            BandedPredictor(models[0]), updater, measure=Mahalanobis(), missed_distance=params.gate
        )
        self.tracker = MultiTargetTracker(
            initiator=BandedInitiator(),
            deleter=UpdateTimeDeleter(timedelta(microseconds=round(params.delete_after_s * 1_000_000))),
            detector=None,
            data_associator=GNNWith2DAssignment(hypothesiser),
            updater=updater,
        )

    def ingest(self, scan: Scan) -> None:
        """Fuse one scan (scans must come in time order)."""
        from stonesoup.models.measurement.linear import LinearGaussian
        from stonesoup.types.detection import Detection

        when = _time(scan.time_us)
        detections = {
            Detection(
                scan.z[j].reshape(3, 1),
                timestamp=when,
                measurement_model=LinearGaussian(ndim_state=6, mapping=tuple(POS), noise_covar=scan.r[j]),
                metadata={
                    "scan": scan.key,
                    "index": j,
                    "sensor": scan.sensor,
                    "label": scan.labels[j],
                    "kind": scan.kinds[j],
                },
            )
            for j in range(len(scan.z))
        }
        self.tracker.update_tracker(when, detections)

    def ingest_all(self, scans: Iterable[Scan]) -> None:
        """Fuse scans in order."""
        for scan in scans:
            self.ingest(scan)

    def estimates(self, *, confirmed_only: bool = True) -> list[TrackEstimate]:
        """Return the tracks as the engine reports them, ordered by id (Stone Soup keeps a set)."""
        from stonesoup.types.update import Update

        out: list[TrackEstimate] = []
        for track in self.tracker.tracks:
            updates = [s for s in track.states if isinstance(s, Update) and s.hypothesis]
            if confirmed_only and len(updates) < self.params.confirm_after:
                continue
            first = updates[0].hypothesis.measurement.metadata
            contributions: Counter[str] = Counter()
            labels: dict[str, str] = {}
            kinds: Counter[str] = Counter()
            for update in updates:
                meta = update.hypothesis.measurement.metadata
                contributions[meta["sensor"]] += 1
                if meta["label"]:
                    labels[meta["sensor"]] = meta["label"]
                if meta["kind"]:
                    kinds[meta["kind"]] += 1
            state = track.states[-1]
            out.append(
                TrackEstimate(
                    id=track_id(first["scan"], first["index"]),
                    x=np.asarray(state.state_vector, dtype=float).ravel(),
                    p=np.asarray(state.covar, dtype=float),
                    created_us=_us(updates[0].timestamp),
                    updated_us=_us(updates[-1].timestamp),
                    updates=len(updates),
                    contributions=tuple(sorted(contributions.items(), key=lambda kv: (-kv[1], kv[0]))),
                    labels=tuple(sorted(labels.items())),
                    kind=max(kinds, key=lambda k: (kinds[k], k)) if kinds else "",
                    trail=(),
                )
            )
        return sorted(out, key=lambda e: e.id)
