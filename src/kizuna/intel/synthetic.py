"""Synthetic pictures: ground truth and sensors from a picture file, and the scans the sensors would report.

A picture file (YAML, `data/pictures/`) describes targets — single ones moving at constant velocity
along a geodesic, groups scattered over an area, ballistic missiles from launch to impact — and sensors
of each nation: where they are, how far and at which heights they see, how often they scan, their
detection probability, noise and false alarms, and the marking of their reports. `SyntheticPicture`
turns it into scans, seeded (the same seed gives the same scans), for the live service, an exercise,
the fusion score and the benchmark. Errors name the file, line and field like every other data file.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kizuna.access import Classification, Marking, NationCode
from kizuna.errors import DataError, Problem
from kizuna.intel.events import CotType, PositionReport, SensorKind
from kizuna.intel.fusion import Scan
from kizuna.intel.geo import Array, Frame
from kizuna.intel.view import to_us
from kizuna.model.provenance import Provenanced
from kizuna.model.sources import Source, read_source_table, resolve_references, source_table_input
from kizuna.model.yamlfile import line_of, plain, read_yaml


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GeoPoint(_Frozen):
    """A WGS-84 position."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_m: float = Field(default=0.0, ge=-12_000, le=3_000_000)


class Area(_Frozen):
    """A disc on the surface: centre and radius."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=5_000)


class Target(Provenanced):
    """One target: constant velocity along a geodesic, or a ballistic flight from launch to impact."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = ""
    kind: CotType = Field(description="The CoT type a classifying sensor reports (e.g. a-h-S).")
    motion: Literal["constant-velocity", "ballistic"] = "constant-velocity"
    start: GeoPoint | None = None
    speed_m_s: float = Field(default=0.0, ge=0, le=10_000)
    course_deg: float = Field(default=0.0, ge=0, lt=360)
    climb_m_s: float = Field(default=0.0, ge=-500, le=500)
    appears_s: float = Field(default=0.0, ge=0)
    disappears_s: float | None = Field(default=None, gt=0)
    launch: GeoPoint | None = None
    impact: GeoPoint | None = None
    flight_s: float | None = Field(default=None, gt=0, le=7_200)
    apogee_km: float | None = Field(default=None, gt=0, le=2_000)

    @model_validator(mode="after")
    def _motion_fields(self) -> Target:
        if self.motion == "constant-velocity" and self.start is None:
            raise ValueError("a constant-velocity target needs `start`")
        if self.motion == "ballistic" and None in (self.launch, self.impact, self.flight_s, self.apogee_km):
            raise ValueError("a ballistic target needs `launch`, `impact`, `flight_s` and `apogee_km`")
        if self.disappears_s is not None and self.disappears_s <= self.appears_s:
            raise ValueError("`disappears_s` must come after `appears_s`")
        return self


class Group(Provenanced):
    """Many targets of one kind scattered over an area, each on its own random course."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = ""
    kind: CotType
    count: int = Field(ge=1, le=100_000)
    area: Area
    alt_m: tuple[float, float] = (0.0, 0.0)
    speed_m_s: tuple[float, float] = (0.0, 0.0)

    @field_validator("alt_m", "speed_m_s")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if value[0] > value[1]:
            raise ValueError("a range is [low, high]")
        return value


class MarkingSpec(_Frozen):
    """A sensor's marking: its nation owns it; it is released to `rel_to`, or NOFORN."""

    level: Classification
    rel_to: tuple[NationCode, ...] = ()
    noforn: bool = False


class SensorSpec(Provenanced):
    """A sensor of a nation and how it sees."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    nation: NationCode
    kind: SensorKind
    position: GeoPoint
    range_km: float = Field(gt=0, le=10_000)
    altitude_m: tuple[float, float] = (-100.0, 30_000.0)
    interval_s: float = Field(gt=0, le=3_600)
    pd: float = Field(gt=0, le=1)
    sigma_m: tuple[float, float, float]
    false_alarms: float = Field(default=0.0, ge=0, le=1_000)
    classifies: bool = False
    marking: MarkingSpec

    @field_validator("sigma_m")
    @classmethod
    def _positive(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(value) <= 0:
            raise ValueError("each standard deviation must be positive")
        return value

    def to_marking(self, *, exercise: bool = False) -> Marking:
        """Return the sensor's marking, owned by its nation."""
        return Marking(
            level=self.marking.level,
            owner=self.nation,
            rel_to=frozenset(self.marking.rel_to),
            noforn=self.marking.noforn,
            exercise=exercise,
        )


class PictureFile(_Frozen):
    """A synthetic picture: truth and sensors over a time span."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    description: str = ""
    origin: GeoPoint
    start: datetime
    duration_s: float = Field(gt=0, le=86_400)
    seed: int = 0
    sources: Annotated[dict[str, Source], BeforeValidator(source_table_input)] = Field(
        default_factory=dict,
        description="The documents the picture cites, by key: a user's file's own `sources:` entries (a "
        "title and URL, or a mapping like the catalog's) and, after loading, the catalog entries it cites.",
    )
    targets: tuple[Target, ...] = ()
    groups: tuple[Group, ...] = ()
    sensors: tuple[SensorSpec, ...] = ()
    file: str = ""

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("the start needs a time zone, e.g. 2027-04-06T05:00:00Z")
        return value

    @model_validator(mode="after")
    def _unique(self) -> PictureFile:
        if not self.sensors:
            raise ValueError("a picture needs at least one sensor under `sensors:`")
        seen: set[str] = set()
        ids = [t.id for t in self.targets] + [g.id for g in self.groups] + [s.id for s in self.sensors]
        for item_id in ids:
            if item_id in seen:
                raise ValueError(f"id {item_id!r} is used twice")
            seen.add(item_id)
        return self


# -- loading --------------------------------------------------------------------------------------------


def load_picture(ref: str | Path) -> PictureFile:
    """Load a picture file by bundled id (e.g. `senkaku-picture`) or path.

    Raises:
        DataError: The file is invalid; every problem is listed with its line.
        UnknownId: `ref` is neither a file nor a bundled picture id.
    """
    from kizuna.model.loading import load_checked

    return load_checked(ref, kind="pictures", check=check_picture_file)


def check_picture_file(path: str | Path) -> tuple[PictureFile | None, list[Problem]]:
    """Validate one picture file; return it (None when invalid) and every problem found."""
    file = str(path)
    try:
        root = read_yaml(path)
    except DataError as err:
        return None, list(err.problems)
    if not isinstance(root, dict):
        fields = ", ".join(k for k in PictureFile.model_fields if k != "file")
        return None, [Problem(file, 1, "(top level)", "a picture file is a mapping", expected=fields)]
    data = plain(root)
    data["file"] = file
    problems: list[Problem] = []
    picture: PictureFile | None = None
    try:
        picture = PictureFile.model_validate(data)
    except ValidationError as err:
        problems.extend(_problems(file, root, err))
    local = read_source_table(file, root, [])  # malformed entries were reported by the model above
    cited = resolve_references(file, _references(root), local, problems)
    if picture is not None:
        picture = picture.model_copy(update={"sources": {**local, **dict(sorted(cited.items()))}})
    problems.sort(key=lambda p: p.line or 0)
    return (picture if not problems else None), problems


def _references(root: dict[str, Any]) -> Iterator[tuple[str, int | None, str]]:
    """Yield (field, line, reference) for every `source:` of a target, group or sensor."""
    for section in ("targets", "groups", "sensors"):
        entries = root.get(section) or []
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if not isinstance(entry, dict):
                continue
            refs = entry.get("source") or []
            for ref in [refs] if isinstance(refs, str) else refs if isinstance(refs, list) else []:
                if isinstance(ref, str):
                    yield f"{section}.{index}.source", line_of(entry, "source"), ref


def _problems(file: str, root: Any, err: ValidationError) -> Iterator[Problem]:
    for e in err.errors():
        loc: tuple[Any, ...] = tuple(e["loc"])
        parent: Any = root
        key: Any = None
        node: Any = root
        for part in loc:
            if (isinstance(node, dict) and part in node) or (
                isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            ):
                parent, key, node = node, part, node[part]
        line = line_of(parent, key) if key is not None else 1
        field = ".".join(str(p) for p in loc) or "(top level)"
        message = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            yield Problem(file, line, field, "unknown key")
        elif e["type"] == "missing":
            yield Problem(file, line, field, "missing required key")
        else:
            value = e.get("input")
            yield Problem(file, line, field, message, None if isinstance(value, dict | list) else value)


# -- generating ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeneratedScan:
    """One sensor scan as generated: positions, their errors, and which truth each came from.

    Attributes:
        truth: The truth id behind each report ("" for a false alarm).
    """

    sensor: SensorSpec
    time: datetime
    lat: Array
    lon: Array
    alt: Array
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    truth: tuple[str, ...]

    def reports(self) -> tuple[PositionReport, ...]:
        """Return the scan as position reports (as a sensor files them)."""
        sigma = self.sensor.sigma_m
        return tuple(
            PositionReport(lat=float(a), lon=float(b), alt_m=float(c), sigma_m=sigma, track=label, kind=kind)
            for a, b, c, label, kind in zip(
                self.lat, self.lon, self.alt, self.labels, self.kinds, strict=True
            )
        )

    def to_scan(self, frame: Frame) -> Scan:
        """Return the scan in a fusion frame (as the desk converts filed reports)."""
        local = np.tile(np.diag(np.square(np.array(self.sensor.sigma_m, dtype=float))), (len(self.lat), 1, 1))
        return Scan.build(
            self.sensor.id,
            to_us(self.time),
            frame.to_enu(self.lat, self.lon, self.alt).reshape(-1, 3),
            frame.covariance_to_frame(self.lat, self.lon, local) if len(self.lat) else np.zeros((0, 3, 3)),
            self.labels,
            self.kinds,
        )


NDArrayBool = np.ndarray[Any, np.dtype[np.bool_]]


@dataclass(frozen=True, slots=True)
class _Targets:
    """Every target expanded (groups drawn), as arrays."""

    ids: tuple[str, ...]
    kinds: tuple[str, ...]
    ballistic: NDArrayBool
    lat0: Array
    lon0: Array
    alt0: Array
    speed: Array
    course: Array
    climb: Array
    appears: Array
    disappears: Array
    impact_lat: Array
    impact_lon: Array
    flight: Array
    apogee: Array


class SyntheticPicture:
    """Truth and sensor scans of a picture file; the same seed gives the same scans."""

    def __init__(self, picture: PictureFile, *, seed: int | None = None) -> None:
        """Expand the picture's groups and prepare the sensors."""
        self.picture = picture
        self.seed = picture.seed if seed is None else seed
        self.frame = Frame(picture.origin.lat, picture.origin.lon, 0.0)
        self.targets = self._expand(np.random.default_rng(np.random.SeedSequence([self.seed, 1])))

    def _expand(self, rng: np.random.Generator) -> _Targets:
        from pymap3d.vincenty import vreckon

        rows: list[tuple[Any, ...]] = []
        for t in self.picture.targets:
            if t.motion == "ballistic":
                assert t.launch is not None
                assert t.impact is not None
                assert t.flight_s is not None
                assert t.apogee_km is not None
                rows.append(
                    (
                        t.id,
                        t.kind,
                        True,
                        t.launch.lat,
                        t.launch.lon,
                        t.launch.alt_m,
                        0.0,
                        0.0,
                        0.0,
                        t.appears_s,
                        t.appears_s + t.flight_s,
                        t.impact.lat,
                        t.impact.lon,
                        t.flight_s,
                        t.apogee_km * 1000,
                    )
                )
            else:
                assert t.start is not None
                rows.append(
                    (
                        t.id,
                        t.kind,
                        False,
                        t.start.lat,
                        t.start.lon,
                        t.start.alt_m,
                        t.speed_m_s,
                        t.course_deg,
                        t.climb_m_s,
                        t.appears_s,
                        t.disappears_s or math.inf,
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                    )
                )
        for g in self.picture.groups:
            distance = g.area.radius_km * 1000 * np.sqrt(rng.random(g.count))
            bearing = rng.uniform(0, 360, g.count)
            lat, lon = vreckon(np.full(g.count, g.area.lat), np.full(g.count, g.area.lon), distance, bearing)
            alt = rng.uniform(*g.alt_m, g.count)
            speed = rng.uniform(*g.speed_m_s, g.count)
            course = rng.uniform(0, 360, g.count)
            for i in range(g.count):
                rows.append(
                    (
                        f"{g.id}-{i + 1}",
                        g.kind,
                        False,
                        float(np.asarray(lat)[i]),
                        float(np.asarray(lon)[i]),
                        float(alt[i]),
                        float(speed[i]),
                        float(course[i]),
                        0.0,
                        0.0,
                        math.inf,
                        0.0,
                        0.0,
                        0.0,
                        0.0,
                    )
                )
        columns = list(zip(*rows, strict=True)) if rows else [()] * 15
        return _Targets(
            ids=tuple(columns[0]),
            kinds=tuple(columns[1]),
            ballistic=np.array(columns[2], dtype=bool),
            **{
                name: np.array(columns[i], dtype=float)
                for i, name in enumerate(
                    (
                        "lat0",
                        "lon0",
                        "alt0",
                        "speed",
                        "course",
                        "climb",
                        "appears",
                        "disappears",
                        "impact_lat",
                        "impact_lon",
                        "flight",
                        "apogee",
                    ),
                    start=3,
                )
            },
        )

    def truth_at(self, seconds: float) -> tuple[tuple[str, ...], Array, Array, Array]:
        """Return the ids and positions (lat, lon, alt) of the targets present `seconds` after the start."""
        from pymap3d.vincenty import vdist, vreckon

        t = self.targets
        alive = (t.appears <= seconds) & (seconds < t.disappears)
        idx = np.flatnonzero(alive)
        if not len(idx):
            return (), np.zeros(0), np.zeros(0), np.zeros(0)
        elapsed = seconds - t.appears[idx]
        lat, lon, alt = t.lat0[idx].copy(), t.lon0[idx].copy(), t.alt0[idx].copy()
        moving = ~t.ballistic[idx] & (t.speed[idx] > 0)
        if moving.any():
            m = idx[moving]
            a, b = vreckon(t.lat0[m], t.lon0[m], t.speed[m] * elapsed[moving], t.course[m])
            lat[moving], lon[moving] = np.asarray(a), np.asarray(b)
        alt[~t.ballistic[idx]] += t.climb[idx][~t.ballistic[idx]] * elapsed[~t.ballistic[idx]]
        flying = t.ballistic[idx]
        if flying.any():
            m = idx[flying]
            distance, azimuth = vdist(t.lat0[m], t.lon0[m], t.impact_lat[m], t.impact_lon[m])
            s = np.clip(elapsed[flying] / t.flight[m], 0.0, 1.0)
            a, b = vreckon(t.lat0[m], t.lon0[m], np.asarray(distance) * s, np.asarray(azimuth))
            lat[flying], lon[flying] = np.asarray(a), np.asarray(b)
            alt[flying] = t.alt0[m] + 4 * t.apogee[m] * s * (1 - s)
        return tuple(t.ids[i] for i in idx), lat, lon, alt

    def scans(self) -> Iterator[GeneratedScan]:
        """Yield every sensor's scans over the picture's duration, in time order."""
        picture = self.picture
        sensors = picture.sensors
        rngs = [np.random.default_rng(np.random.SeedSequence([self.seed, 2, i])) for i in range(len(sensors))]
        phase = [rngs[i].uniform(0, s.interval_s) for i, s in enumerate(sensors)]
        schedule: list[tuple[float, int]] = []
        for i, sensor in enumerate(sensors):
            k = 0
            while (at := phase[i] + k * sensor.interval_s) < picture.duration_s:
                schedule.append((at, i))
                k += 1
        schedule.sort()
        for at, i in schedule:
            yield self._scan(sensors[i], at, rngs[i])

    def observable(self, sensor: SensorSpec, lat: Array, lon: Array, alt: Array) -> NDArrayBool:
        """Tell which positions a sensor covers: within its range and its band of heights."""
        here = Frame(sensor.position.lat, sensor.position.lon, sensor.position.alt_m)
        enu = here.to_enu(lat, lon, alt).reshape(-1, 3)
        lo, hi = sensor.altitude_m
        return np.asarray((np.linalg.norm(enu, axis=1) <= sensor.range_km * 1000) & (alt >= lo) & (alt <= hi))

    def _scan(self, sensor: SensorSpec, at: float, rng: np.random.Generator) -> GeneratedScan:
        ids, lat, lon, alt = self.truth_at(at)
        seen = self.observable(sensor, lat, lon, alt) & (rng.random(len(ids)) < sensor.pd)
        idx = np.flatnonzero(seen)
        sigma = np.array(sensor.sigma_m, dtype=float)
        noise = rng.normal(0.0, 1.0, (len(idx), 3)) * sigma
        enu = self.frame.to_enu(lat[idx], lon[idx], alt[idx]).reshape(-1, 3)
        enu += np.einsum("nij,nj->ni", self.frame.rotations_from_local(lat[idx], lon[idx]), noise)
        m_lat, m_lon, m_alt = self.frame.to_geodetic(enu)
        fa_count = rng.poisson(sensor.false_alarms) if sensor.false_alarms else 0
        f_lat, f_lon, f_alt = _false_alarms(sensor, fa_count, rng)
        truth = tuple(ids[i] for i in idx)
        labels = tuple(f"{sensor.id}:{_label(t)}" for t in truth) + ("",) * fa_count
        kinds = (
            tuple(self.targets.kinds[self.targets.ids.index(t)] if sensor.classifies else "" for t in truth)
            + ("",) * fa_count
        )
        return GeneratedScan(
            sensor=sensor,
            time=self.picture.start + timedelta(seconds=at),
            lat=np.concatenate([np.atleast_1d(m_lat), f_lat]),
            lon=np.concatenate([np.atleast_1d(m_lon), f_lon]),
            alt=np.concatenate([np.atleast_1d(m_alt), f_alt]),
            labels=labels,
            kinds=kinds,
            truth=truth + ("",) * fa_count,
        )


def _label(truth_id: str) -> str:
    """Return a sensor-local track number for a truth (stable, and not the truth's name)."""
    import hashlib

    return hashlib.sha256(truth_id.encode()).hexdigest()[:6]


def _false_alarms(sensor: SensorSpec, count: int, rng: np.random.Generator) -> tuple[Array, Array, Array]:
    if not count:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    here = Frame(sensor.position.lat, sensor.position.lon, 0.0)
    radius = sensor.range_km * 1000 * np.sqrt(rng.random(count))
    bearing = rng.uniform(0, 2 * math.pi, count)
    lo, hi = max(sensor.altitude_m[0], 0.0), min(sensor.altitude_m[1], 20_000.0)
    alt = rng.uniform(lo, max(lo, hi), count)
    enu = np.stack([radius * np.sin(bearing), radius * np.cos(bearing), np.zeros(count)], axis=1)
    lat, lon, _ = here.to_geodetic(enu)
    return np.atleast_1d(lat), np.atleast_1d(lon), alt
