"""`kizuna bench fusion`: targets x sensors x update rate fused in real time, per audience, on one core.

The run generates a synthetic picture (targets spread over an area, `sensors` sensors covering it at
`rate_hz`, each of another marking: U.S.-only, U.S. releasable to Japan, Japanese releasable to the U.S.,
Japan-only, and so on), derives the audiences from the markings present, and fuses each audience's
visible scans with the vectorized engine, timing CPU seconds on one thread. In the same run, the
reference is Stone Soup's own tracker used naively — one fusion of every scan for everyone — under a
time budget, from which its real-time factor is measured; and on a small prefix of the same scans the
engine's tracks are checked to equal Stone Soup's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from kizuna.access import Classification, Marking
from kizuna.intel.audience import Audience, audiences_of
from kizuna.intel.fusion import FusionEngine, FusionParams, Scan
from kizuna.intel.synthetic import (
    Area,
    GeoPoint,
    Group,
    MarkingSpec,
    PictureFile,
    SensorSpec,
    SyntheticPicture,
)

#: The markings of the bench's sensors, in turn (owner, released to; empty = NOFORN).
_MARKINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("USA", ()),
    ("USA", ("JPN",)),
    ("JPN", ("USA",)),
    ("JPN", ()),
)

Progress = Callable[[str, float], None]


def bench_picture(
    *, targets: int, sensors: int, rate_hz: float, seconds: float, seed: int = 11
) -> PictureFile:
    """Return a picture of `targets` (half ships, half aircraft) seen by `sensors` sensors at `rate_hz`."""
    centre = (25.5, 124.0)
    ships = targets // 2
    groups = [
        Group(
            id="ship",
            kind="a-u-S",
            count=max(ships, 1),
            area=Area(lat=centre[0], lon=centre[1], radius_km=150),
            speed_m_s=(2.0, 10.0),
            assumption="synthetic benchmark load",
        ),
        Group(
            id="aircraft",
            kind="a-u-A",
            count=max(targets - ships, 1),
            area=Area(lat=centre[0], lon=centre[1], radius_km=150),
            alt_m=(3_000.0, 11_000.0),
            speed_m_s=(120.0, 250.0),
            assumption="synthetic benchmark load",
        ),
    ][: 2 if targets > 1 else 1]
    specs = []
    for i in range(sensors):
        owner, rel_to = _MARKINGS[i % len(_MARKINGS)]
        bearing = 2 * math.pi * i / max(sensors, 1)
        release = ", REL " + "/".join(rel_to) if rel_to else " only"
        specs.append(
            SensorSpec(
                id=f"sensor-{i + 1}",
                name=f"Benchmark sensor {i + 1} ({owner}{release})",
                nation=owner,
                kind="radar",
                position=GeoPoint(
                    lat=centre[0] + 0.8 * math.sin(bearing), lon=centre[1] + 0.8 * math.cos(bearing)
                ),
                range_km=600,
                altitude_m=(-100.0, 30_000.0),
                interval_s=1.0 / rate_hz,
                pd=0.9,
                sigma_m=(60.0 + 20 * i, 60.0 + 20 * i, 40.0),
                false_alarms=2.0,
                marking=MarkingSpec(level=Classification.SECRET, rel_to=rel_to, noforn=not rel_to),
                assumption="synthetic benchmark sensor",
            )
        )
    return PictureFile(
        id="fusion-bench",
        name="Fusion benchmark",
        origin=GeoPoint(lat=centre[0], lon=centre[1]),
        start=datetime(2027, 4, 6, 5, 0, tzinfo=UTC),
        duration_s=seconds,
        seed=seed,
        groups=tuple(groups),
        sensors=tuple(specs),
    )


@dataclass(frozen=True, slots=True)
class AudienceRun:
    """The engine's run for one audience."""

    audience: str
    scans: int
    reports: int
    cpu_s: float
    tracks: int


def run(
    *,
    targets: int = 500,
    sensors: int = 4,
    rate_hz: float = 1.0,
    seconds: float = 60.0,
    reference_targets: int = 50,
    reference_budget_s: float = 30.0,
    check_scans: int = 12,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark; return its figures (see the module docstring).

    Stone Soup's cost per scan grows with tracks times reports (every pair is a Python hypothesis), so
    at hundreds of targets one scan takes minutes: it is measured on `reference_targets` targets with
    the same sensors and rate, beside the engine on the very same scans, and the engine alone on the
    full size.
    """
    say = progress or (lambda _what, _done: None)
    with _one_thread():
        say(f"{targets} targets: generating", 0.0)
        full = _prepare(targets, sensors, rate_hz, seconds)
        warm = FusionEngine(full.params)  # imports and first calls outside the timing
        for scan in full.scans[:8]:
            warm.ingest(scan)
        runs = []
        for k, audience in enumerate(full.audiences):
            say(f"{targets} targets: fusing for {audience.key}", 0.05 + 0.4 * k / max(len(full.audiences), 1))
            runs.append(_run_engine(audience, full.scans, full.markings, full.params))
        say(f"{reference_targets} targets: generating", 0.5)
        small = _prepare(reference_targets, sensors, rate_hz, seconds)
        small_runs = [_run_engine(a, small.scans, small.markings, small.params) for a in small.audiences]
        say(f"{reference_targets} targets: Stone Soup, one fusion for everyone", 0.55)
        reference = _run_reference(small.scans, small.params, reference_budget_s)
        say("checking the engine against Stone Soup", 0.9)
        agreement = _agreement(small.scans[:check_scans], small.params)
    say("done", 1.0)
    total_cpu = sum(r.cpu_s for r in runs)
    small_cpu = sum(r.cpu_s for r in small_runs)
    return {
        "setup": {
            "targets": targets,
            "sensors": sensors,
            "rate_hz": rate_hz,
            "seconds": seconds,
            "scans": len(full.scans),
            "reports": int(sum(len(s.z) for s in full.scans)),
            "audiences": [a.key for a in full.audiences],
            "convert_cpu_s": full.convert_s,
        },
        "engine": {
            "audiences": [asdict(r) for r in runs],
            "cpu_s": total_cpu,
            "real_time_factor": seconds / (total_cpu + full.convert_s) if total_cpu else math.inf,
            "real_time": total_cpu + full.convert_s < seconds,
        },
        "reference": {
            "targets": reference_targets,
            "engine_cpu_s": small_cpu,
            "engine_real_time_factor": seconds / small_cpu if small_cpu else math.inf,
            "stonesoup": reference,
        },
        "agreement": agreement,
    }


@dataclass(frozen=True, slots=True)
class _Prepared:
    scans: list[Scan]
    markings: dict[str, Marking]
    audiences: list[Audience]
    params: FusionParams
    convert_s: float


def _prepare(targets: int, sensors: int, rate_hz: float, seconds: float) -> _Prepared:
    picture = bench_picture(targets=targets, sensors=sensors, rate_hz=rate_hz, seconds=seconds)
    generator = SyntheticPicture(picture)
    params = FusionParams(frame=generator.frame)
    generated = list(generator.scans())
    started = time.process_time()
    scans = [g.to_scan(params.frame) for g in generated]
    convert_s = time.process_time() - started
    markings = {s.id: s.to_marking() for s in picture.sensors}
    return _Prepared(scans, markings, audiences_of(markings.values()), params, convert_s)


def _run_engine(
    audience: Audience, scans: list[Scan], markings: dict[str, Marking], params: FusionParams
) -> AudienceRun:
    visible = [s for s in scans if audience.sees(markings[s.sensor])]
    engine = FusionEngine(params)
    started = time.process_time()
    for scan in visible:
        engine.ingest(scan)
    cpu = time.process_time() - started
    return AudienceRun(
        audience=audience.key,
        scans=len(visible),
        reports=int(sum(len(s.z) for s in visible)),
        cpu_s=cpu,
        tracks=len(engine.estimates()),
    )


def _run_reference(scans: list[Scan], params: FusionParams, budget_s: float) -> dict[str, Any]:
    """Run Stone Soup's tracker on every scan (one fusion for everyone) until the budget is spent."""
    from kizuna.intel.reference import StoneSoupFusion

    tracker = StoneSoupFusion(params)
    started = time.process_time()
    done = 0
    for scan in scans:
        tracker.ingest(scan)
        done += 1
        if time.process_time() - started > budget_s:
            break
    cpu = time.process_time() - started
    covered = (scans[done - 1].time_us - scans[0].time_us) / 1e6 + 1e-9 if done > 1 else 0.0
    return {
        "scans": done,
        "of_scans": len(scans),
        "cpu_s": cpu,
        "cpu_per_scan_s": cpu / done if done else math.nan,
        "simulated_s": covered,
        "real_time_factor": covered / cpu if cpu else math.nan,
    }


def _agreement(scans: list[Scan], params: FusionParams) -> dict[str, Any]:
    """Fuse the same scans with both; return how far apart their tracks are."""
    from kizuna.intel.reference import StoneSoupFusion

    engine, reference = FusionEngine(params), StoneSoupFusion(params)
    for scan in scans:
        engine.ingest(scan)
        reference.ingest(scan)
    ours = sorted(engine.estimates(confirmed_only=False), key=lambda e: e.id)
    theirs = reference.estimates(confirmed_only=False)
    same_ids = [e.id for e in ours] == [e.id for e in theirs]
    worst = max((float(np.abs(a.x - b.x).max()) for a, b in zip(ours, theirs, strict=False)), default=0.0)
    return {"scans": len(scans), "tracks": len(ours), "same_ids": same_ids, "max_state_diff": worst}


class _one_thread:  # noqa: N801 - a context manager read as a phrase: `with _one_thread():`
    """Limit BLAS thread pools to one thread (when threadpoolctl is there), so the run is one core."""

    def __enter__(self) -> None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            self._limits = None
            return
        self._limits = threadpool_limits(limits=1)

    def __exit__(self, *_exc: object) -> None:
        if self._limits is not None:
            self._limits.unregister()
