"""Pictures per releasability audience: each fused only from the scans its audience may see.

For every crisis and audience that is read, a `FusionEngine` is fed, in log order, exactly the scans
whose marking the audience sees, and nothing else: no shared state, no global counter, no timer.
Identifiers derive from scan contents and versions count the audience's own scans, so a picture is a
function of its visible scans alone; adding, removing or moving a scan the audience may not see changes
nothing in it, not even when it is updated (tests/intel/test_releasability.py checks this with
Hypothesis). When a release widens a sensor's reports after they were fused, the pictures that now see
more are fused again from the start.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from pydantic import BaseModel, ConfigDict

from kizuna.access import Marking, combine
from kizuna.intel.audience import Audience
from kizuna.intel.events import SensorKind
from kizuna.intel.fusion import POS, FusionEngine, FusionParams, TrackEstimate
from kizuna.intel.view import IntelView, from_us

#: Receives a picture after it changed (on the thread that fused the scan).
PictureListener = Callable[["Picture"], None]


class Contribution(BaseModel):
    """What one sensor contributed to a fused track."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sensor: str
    name: str
    kind: SensorKind
    nation: str
    reports: int
    track: str = ""


class TrailPoint(BaseModel):
    """A past position of a track (at one of its measurements)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time: datetime
    lat: float
    lon: float
    alt_m: float


class FusedTrack(BaseModel):
    """A fused track as its audience sees it.

    Attributes:
        velocity_m_s: East, north, up velocity at the track (m/s).
        sigma_m: One-sigma position error east, north, up (m).
        kind: The CoT type its reports claimed most often ("" when none did).
        contributions: The sensors whose reports it took, most first (all of them visible to the reader).
        marking: The most restrictive marking of the scans it took measurements from.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    crisis: str
    lat: float
    lon: float
    alt_m: float
    velocity_m_s: tuple[float, float, float]
    speed_m_s: float
    course_deg: float
    sigma_m: tuple[float, float, float]
    created_at: datetime
    updated_at: datetime
    updates: int
    kind: str
    contributions: tuple[Contribution, ...]
    marking: Marking
    exercise: bool
    trail: tuple[TrailPoint, ...]


class Picture(BaseModel):
    """The fused picture of a crisis for one audience.

    Attributes:
        version: How many scans this audience's picture has fused (it counts only scans it may see).
        updated_at: Observation time of the last scan fused, None before the first.
        tracks: Confirmed tracks, in the order they were started.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    crisis: str
    audience: Audience
    version: int
    updated_at: datetime | None
    tracks: tuple[FusedTrack, ...]


@dataclass(eq=False)
class _Feed:
    """One audience's engine in one crisis, how far into the crisis's scans it is, and who listens."""

    crisis: str
    audience: Audience
    engine: FusionEngine
    processed: int = 0
    fused: list[int] = field(default_factory=list)  # seqs of the scans it fused
    picture: Picture | None = None
    listeners: list[PictureListener] = field(default_factory=list)


class PictureBook:
    """The pictures of every crisis and audience read so far, kept current as scans arrive.

    Thread-safe: one lock guards the engines; listeners are called under it and must be quick.
    """

    def __init__(self, view: IntelView, params: FusionParams | None = None) -> None:
        """Keep pictures over `view` (whose frame the engines use)."""
        self.view = view
        self.params = params or FusionParams(frame=view.frame)
        self._feeds: dict[tuple[str, str], _Feed] = {}
        self._lock = threading.RLock()
        self._markings: list[Marking] = []
        self._index: dict[Marking, int] = {}

    def _tag(self, marking: Marking) -> int:
        if marking not in self._index:
            self._index[marking] = len(self._markings)
            self._markings.append(marking)
        return self._index[marking]

    def picture(self, crisis: str, audience: Audience) -> Picture:
        """Return the audience's picture of a crisis (fusing it first if nobody read it yet)."""
        with self._lock:
            feed = self._feed(crisis, audience)
            self._advance(feed)
            if feed.picture is None:
                feed.picture = self._render(feed)
            return feed.picture

    def subscribe(self, crisis: str, audience: Audience, listener: PictureListener) -> Callable[[], None]:
        """Call `listener` with the audience's picture every time it changes; return the remover."""
        with self._lock:
            feed = self._feed(crisis, audience)
            self._advance(feed)
            feed.listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in feed.listeners:
                    feed.listeners.remove(listener)

        return remove

    def advance(self, crisis: str) -> None:
        """Fuse the crisis's new scans into every picture of it that is kept (after the view grew)."""
        with self._lock:
            for feed in [f for f in self._feeds.values() if f.crisis == crisis]:
                self._advance(feed)

    def released(self, crisis: str) -> None:
        """Fuse again, from the start, each picture of the crisis whose visible scans a release changed."""
        with self._lock:
            for key, feed in list(self._feeds.items()):
                if feed.crisis != crisis:
                    continue
                records = self.view.scans.get(crisis, [])[: feed.processed]
                now = [r.seq for r in records if feed.audience.sees(self.view.scan_marking(r))]
                if now != feed.fused:
                    fresh = _Feed(crisis, feed.audience, FusionEngine(self.params), listeners=feed.listeners)
                    self._feeds[key] = fresh
                    self._advance(fresh, force_notify=True)

    def _feed(self, crisis: str, audience: Audience) -> _Feed:
        key = (crisis, audience.key)
        if key not in self._feeds:
            self._feeds[key] = _Feed(crisis, audience, FusionEngine(self.params))
        return self._feeds[key]

    def _advance(self, feed: _Feed, *, force_notify: bool = False) -> None:
        records = self.view.scans.get(feed.crisis, [])
        changed = force_notify
        while feed.processed < len(records):
            record = records[feed.processed]
            feed.processed += 1
            marking = self.view.scan_marking(record)
            if not feed.audience.sees(marking):
                continue
            feed.fused.append(record.seq)
            feed.engine.ingest(record.scan, self._tag(marking))
            changed = True
        if changed:
            feed.picture = self._render(feed) if feed.listeners else None  # else rendered when read
            for listener in list(feed.listeners):
                listener(feed.picture)  # type: ignore[arg-type]

    def _render(self, feed: _Feed) -> Picture:
        engine = feed.engine
        return Picture(
            crisis=feed.crisis,
            audience=feed.audience,
            version=engine.version,
            updated_at=from_us(engine.time_us) if engine.time_us is not None else None,
            tracks=self._tracks(feed.crisis, engine.estimates()),
        )

    def _tracks(self, crisis: str, estimates: list[TrackEstimate]) -> tuple[FusedTrack, ...]:
        """Convert estimates to geodetic tracks, all at once (one conversion call per quantity)."""
        if not estimates:
            return ()
        frame = self.view.frame
        x = np.array([e.x for e in estimates])
        p = np.array([e.p for e in estimates])
        lat, lon, alt = frame.to_geodetic(x[:, POS])
        velocity = frame.vectors_to_local(lat, lon, x[:, [1, 3, 5]])
        cov = frame.covariance_to_local(lat, lon, p[:, POS[:, None], POS])
        sigma = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
        points = [point for e in estimates for point in e.trail]
        trail_xyz = np.array([point[1:] for point in points], dtype=float).reshape(-1, 3)
        t_lat, t_lon, t_alt = frame.to_geodetic(trail_xyz)
        trail = [
            TrailPoint(time=from_us(point[0]), lat=float(a), lon=float(b), alt_m=float(c))
            for point, a, b, c in zip(points, t_lat, t_lon, t_alt, strict=True)
        ]
        sensors = self.view.sensors
        out: list[FusedTrack] = []
        offset = 0
        for i, estimate in enumerate(estimates):
            markings = [self._markings[t] for t in sorted(estimate.tags)]
            labels = dict(estimate.labels)
            ve, vn, vu = (float(v) for v in velocity[i])
            out.append(
                FusedTrack(
                    id=estimate.id,
                    crisis=crisis,
                    lat=float(lat[i]),
                    lon=float(lon[i]),
                    alt_m=float(alt[i]),
                    velocity_m_s=(ve, vn, vu),
                    speed_m_s=math.hypot(ve, vn),
                    course_deg=math.degrees(math.atan2(ve, vn)) % 360.0,
                    sigma_m=(float(sigma[i, 0]), float(sigma[i, 1]), float(sigma[i, 2])),
                    created_at=from_us(estimate.created_us),
                    updated_at=from_us(estimate.updated_us),
                    updates=estimate.updates,
                    kind=estimate.kind,
                    contributions=tuple(
                        Contribution(
                            sensor=sensor,
                            name=sensors[sensor].name,
                            kind=sensors[sensor].kind,
                            nation=sensors[sensor].nation,
                            reports=count,
                            track=labels.get(sensor, ""),
                        )
                        for sensor, count in estimate.contributions
                    ),
                    marking=combine(*markings),
                    exercise=any(m.exercise for m in markings),
                    trail=tuple(trail[offset : offset + len(estimate.trail)]),
                )
            )
            offset += len(estimate.trail)
        return tuple(out)
