"""Multi-sensor, multi-target fusion: Kalman filters with global-nearest-neighbour assignment, vectorized.

The engine follows the tracking loop of Stone Soup's `MultiTargetTracker` configured with a
`GNNWith2DAssignment` associator over a `DistanceHypothesiser` (Mahalanobis distance, gate as the missed
distance), a Kalman predictor and updater (constant velocity per axis), an `UpdateTimeDeleter` and a
`SimpleMeasurementInitiator` — scan by scan, in the same order, with the same arithmetic — but on NumPy
arrays of every track at once instead of one Python object per track and hypothesis. `kizuna.intel.
reference` builds that Stone Soup tracker; the tests feed both the same scans and compare every state,
and `kizuna bench fusion` measures both (docs/intel.md).

One scan (a sensor's reports at one time) is processed as Stone Soup does:

1. every track is predicted to the scan time (process noise of the motion band of its height: ships,
   aircraft, ballistic objects);
2. each track-report pair gets its Mahalanobis distance under the innovation covariance; pairs at or
   beyond the gate are not hypotheses (a K-D tree proposes candidates within a radius that provably
   contains the gate);
3. the assignment minimizing the summed distances, with the gate as the cost of a missed detection, is
   solved per connected cluster of candidate pairs (the global optimum decomposes over clusters);
4. assigned tracks are updated; unassigned ones keep their prediction;
5. tracks without a measurement for `delete_after_s` are deleted;
6. each unassigned report starts a track at its position with the band's prior velocity spread.

Everything an engine holds is a function of the scans it was given, in order: identifiers are derived
from the scan contents that started a track, versions count the scans processed. That is what makes a
picture per releasability audience exact (kizuna.intel.picture).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from kizuna.intel.geo import Array, Frame

#: Position components of the state [e, ve, n, vn, u, vu] (Stone Soup's ordering).
POS = np.array([0, 2, 4])
_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Band:
    """A regime of motion chosen by height: process noise and the prior speed of a new track.

    Attributes:
        name: What moves there (`surface`, `air`, `space`).
        below_m: The band holds heights below this (the last band: infinity).
        q: Process-noise intensity of the constant-velocity model per axis (m²/s³).
        prior_speed_m_s: One-sigma speed per axis of a track started from one report (m/s).
    """

    name: str
    below_m: float
    q: float
    prior_speed_m_s: float


#: Ships and boats below 1 km; aircraft below 30 km; ballistic objects above.
DEFAULT_BANDS: tuple[Band, ...] = (
    Band("surface", 1_000.0, 0.05, 15.0),
    Band("air", 30_000.0, 4.0, 300.0),
    Band("space", math.inf, 100.0, 3_000.0),
)


@dataclass(frozen=True, slots=True)
class FusionParams:
    """How the engine fuses.

    Attributes:
        frame: The local frame positions are expressed in.
        bands: Motion bands by height, lowest first.
        gate: Mahalanobis distance at or beyond which a report is not a hypothesis for a track; also
            the cost of a missed detection in the assignment (Stone Soup's `missed_distance`).
        delete_after_s: A track without a measurement for longer than this is deleted.
        confirm_after: Measurements a track needs before it is shown (tentative tracks stay internal).
        max_lag_s: A scan older than the engine's time by up to this is fused as current; older
            scans are dropped (counted in `late_scans`).
        trail: How many past positions a track keeps for its history trail.
    """

    frame: Frame
    bands: tuple[Band, ...] = DEFAULT_BANDS
    gate: float = 5.0
    delete_after_s: float = 20.0
    confirm_after: int = 3
    max_lag_s: float = 5.0
    trail: int = 30

    def band_index(self, heights: Array) -> NDArray[np.intp]:
        """Return the index of the band of each height."""
        limits = np.array([b.below_m for b in self.bands[:-1]])
        return np.searchsorted(limits, heights, side="right")


@dataclass(frozen=True, slots=True, eq=False)
class Scan:
    """One sensor's reports at one time, in the fusion frame.

    Attributes:
        sensor: The reporting sensor's id.
        time_us: Observation time, microseconds since the epoch (UTC).
        z: Report positions, (m, 3) metres east, north, up.
        r: Report covariances, (m, 3, 3) m².
        labels: The sensor's own track id of each report ("" when it has none).
        kinds: The CoT type each report claims ("" when it claims none).
        key: A digest of the scan's contents, from which the ids of tracks it starts derive.
    """

    sensor: str
    time_us: int
    z: Array
    r: Array
    labels: tuple[str, ...]
    kinds: tuple[str, ...]
    key: str

    @classmethod
    def build(  # noqa: PLR0917 - a scan is these six things, in this order, everywhere
        cls,
        sensor: str,
        time_us: int,
        z: Array,
        r: Array,
        labels: tuple[str, ...] | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> Scan:
        """Build a scan and its content digest."""
        z = np.ascontiguousarray(z, dtype=float).reshape(-1, 3)
        r = np.ascontiguousarray(r, dtype=float).reshape(-1, 3, 3)
        count = len(z)
        labels = labels if labels is not None else ("",) * count
        kinds = kinds if kinds is not None else ("",) * count
        digest = hashlib.sha256()
        digest.update(f"{sensor}\x00{time_us}\x00".encode())
        digest.update(z.tobytes())
        digest.update(r.tobytes())
        digest.update("\x00".join(labels).encode())
        digest.update("\x00".join(kinds).encode())
        return cls(sensor, time_us, z, r, labels, kinds, digest.hexdigest()[:16])


@dataclass(frozen=True, slots=True)
class TrackEstimate:
    """A fused track as of the engine's last scan.

    Attributes:
        id: Stable id (`ft-...`), derived from the report that started the track.
        x: State [e, ve, n, vn, u, vu] in the fusion frame (m, m/s).
        p: State covariance (6, 6).
        created_us: When the track was started (observation time).
        updated_us: The time of its last measurement.
        updates: How many measurements it has taken (the first one included).
        contributions: Measurements taken per sensor, most first.
        labels: The last own track id each sensor gave the reports it took.
        kind: The CoT type most often claimed by its reports ("" if none claimed one).
        trail: Past positions at measurements: (time_us, e, n, u), oldest first.
        tags: The tags of the scans it took measurements from.
    """

    id: str
    x: Array
    p: Array
    created_us: int
    updated_us: int
    updates: int
    contributions: tuple[tuple[str, int], ...]
    labels: tuple[tuple[str, str], ...]
    kind: str
    trail: tuple[tuple[int, float, float, float], ...]
    tags: frozenset[int] = frozenset()


@dataclass(slots=True)
class _Meta:
    """The bookkeeping of one track beside its arrays."""

    id: str
    created_us: int
    contributions: Counter[str] = field(default_factory=Counter)
    labels: dict[str, str] = field(default_factory=dict)
    kinds: Counter[str] = field(default_factory=Counter)
    last_kind: str = ""
    trail: deque[tuple[int, float, float, float]] = field(default_factory=deque)
    tags: set[int] = field(default_factory=set)


def _block(dt: float) -> tuple[Array, Array]:
    """Return the transition matrix and the unit process-noise matrix of 3-axis constant velocity."""
    f1 = np.array([[1.0, dt], [0.0, 1.0]])
    q1 = np.array([[dt**3 / 3, dt**2 / 2], [dt**2 / 2, dt]])
    f = np.zeros((6, 6))
    q = np.zeros((6, 6))
    for axis in range(3):
        s = slice(2 * axis, 2 * axis + 2)
        f[s, s] = f1
        q[s, s] = q1
    return f, q


def track_id(scan_key: str, index: int) -> str:
    """Return the id of a track started by report `index` of the scan with digest `scan_key`."""
    return "ft-" + hashlib.sha256(f"{scan_key}/{index}".encode()).hexdigest()[:12]


class FusionEngine:
    """Fuses scans into tracks, one scan at a time (not thread-safe: one caller at a time)."""

    def __init__(self, params: FusionParams) -> None:
        """Start with no tracks."""
        self.params = params
        self.time_us: int | None = None
        self.version = 0  # scans fused
        self.late_scans = 0
        self._x: Array = np.zeros((0, 6))
        self._p: Array = np.zeros((0, 6, 6))
        self._updated: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._count: NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._meta: list[_Meta] = []
        self._ids: set[str] = set()
        self._q = np.array([b.q for b in params.bands])
        self._prior_var = np.array([b.prior_speed_m_s**2 for b in params.bands])

    def __len__(self) -> int:
        """Return the number of tracks, tentative ones included."""
        return len(self._meta)

    # -- one scan ---------------------------------------------------------------------------------------

    def ingest(self, scan: Scan, tag: int = 0) -> bool:
        """Fuse one scan; return False if it was dropped as too late (and nothing changed).

        `tag` labels the scan (the picture passes the index of its marking); each track keeps the tags
        of the scans it took measurements from.
        """
        t = scan.time_us
        if self.time_us is not None and t < self.time_us:
            if self.time_us - t > self.params.max_lag_s * _US:
                self.late_scans += 1
                return False
            t = self.time_us
        if self.time_us is not None and len(self._meta) and t > self.time_us:
            self._predict((t - self.time_us) / _US)
        assigned_tracks, assigned_reports = self._associate(scan)
        if len(assigned_tracks):
            self._update(scan, t, assigned_tracks, assigned_reports, tag)
        self._delete(t)
        free = np.ones(len(scan.z), dtype=bool)
        free[assigned_reports] = False
        self._initiate(scan, t, np.flatnonzero(free), tag)
        self.time_us = t
        self.version += 1
        return True

    def _predict(self, dt: float) -> None:
        f, q1 = _block(dt)
        bands = self.params.band_index(self.params.frame.height(self._x[:, POS]))
        self._x = self._x @ f.T
        self._p = f @ self._p @ f.T + self._q[bands][:, None, None] * q1

    def _associate(self, scan: Scan) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Return the (track, report) pairs of the minimum-distance assignment."""
        empty = np.zeros(0, dtype=np.intp)
        n, m = len(self._meta), len(scan.z)
        if n == 0 or m == 0:
            return empty, empty
        from scipy.spatial import cKDTree

        gate = self.params.gate
        pos = self._x[:, POS]
        ppos = self._p[:, POS[:, None], POS]
        # |v|^2 <= d^2 * lambda_max(S) <= d^2 * (tr P + max tr R): a radius containing the whole gate.
        radius = gate * np.sqrt(np.trace(ppos, axis1=1, axis2=2) + np.trace(scan.r, axis1=1, axis2=2).max())
        found = cKDTree(scan.z).query_ball_point(pos, radius, return_sorted=False)
        lengths = np.fromiter((len(f) for f in found), dtype=np.intp, count=n)
        if not lengths.sum():
            return empty, empty
        ti = np.repeat(np.arange(n), lengths)
        rj = np.concatenate([np.asarray(f, dtype=np.intp) for f in found if f])
        innovation = scan.z[rj] - pos[ti]
        s = ppos[ti] + scan.r[rj]
        d = np.sqrt(np.einsum("ki,ki->k", innovation, np.linalg.solve(s, innovation[..., None])[..., 0]))
        keep = d < gate
        ti, rj, d = ti[keep], rj[keep], d[keep]
        if not len(ti):
            return empty, empty
        return self._assign(ti, rj, d, n, m)

    def _assign(
        self, ti: NDArray[np.intp], rj: NDArray[np.intp], d: Array, n: int, m: int
    ) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Solve the assignment per connected cluster of candidate pairs."""
        from scipy.optimize import linear_sum_assignment
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        graph = coo_matrix((np.ones(len(ti)), (ti, n + rj)), shape=(n + m, n + m))
        _, labels = connected_components(graph, directed=False)
        track_label, report_label = labels[ti], labels[n + rj]
        del report_label  # the same as track_label: a pair is an edge of its cluster
        pairs_per = np.bincount(track_label, minlength=len(labels))
        tracks_per = np.bincount(labels[np.unique(ti)], minlength=len(labels))
        reports_per = np.bincount(labels[n + np.unique(rj)], minlength=len(labels))
        single = (
            (tracks_per[track_label] == 1) & (reports_per[track_label] == 1) & (pairs_per[track_label] == 1)
        )
        out_t: list[NDArray[np.intp]] = [ti[single]]
        out_r: list[NDArray[np.intp]] = [rj[single]]
        rest = np.flatnonzero(~single)
        if len(rest):
            order = rest[np.argsort(track_label[rest], kind="stable")]
            bounds = np.flatnonzero(np.diff(track_label[order])) + 1
            gate = self.params.gate
            for chunk in np.split(order, bounds):
                tracks, t_local = np.unique(ti[chunk], return_inverse=True)
                reports, r_local = np.unique(rj[chunk], return_inverse=True)
                rows, cols = len(tracks), len(reports)
                cost = np.full((rows, cols + rows), np.inf)
                cost[t_local, r_local] = d[chunk]
                cost[np.arange(rows), cols + np.arange(rows)] = gate
                row, col = linear_sum_assignment(cost)
                hit = col < cols
                out_t.append(tracks[row[hit]])
                out_r.append(reports[col[hit]])
        return np.concatenate(out_t), np.concatenate(out_r)

    def _update(
        self, scan: Scan, t: int, tracks: NDArray[np.intp], reports: NDArray[np.intp], tag: int
    ) -> None:
        x, p = self._x[tracks], self._p[tracks]
        s = p[:, POS[:, None], POS] + scan.r[reports]
        cross = p[:, :, POS]
        gain = cross @ np.linalg.inv(s)
        innovation = scan.z[reports] - x[:, POS]
        self._x[tracks] = x + np.einsum("kij,kj->ki", gain, innovation)
        self._p[tracks] = p - gain @ s @ np.swapaxes(gain, 1, 2)
        self._updated[tracks] = t
        self._count[tracks] += 1
        posterior = self._x[tracks][:, POS]
        trail = self.params.trail
        for k, (i, j) in enumerate(zip(tracks.tolist(), reports.tolist(), strict=True)):
            meta = self._meta[i]
            meta.contributions[scan.sensor] += 1
            if scan.labels[j]:
                meta.labels[scan.sensor] = scan.labels[j]
            if scan.kinds[j]:
                meta.kinds[scan.kinds[j]] += 1
                meta.last_kind = scan.kinds[j]
            meta.tags.add(tag)
            e, n, u = (float(v) for v in posterior[k])
            meta.trail.append((t, e, n, u))
            if len(meta.trail) > trail:
                meta.trail.popleft()

    def _delete(self, t: int) -> None:
        if not len(self._meta):
            return
        keep = self._updated >= t - round(self.params.delete_after_s * _US)
        if keep.all():
            return
        self._x, self._p = self._x[keep], self._p[keep]
        self._updated, self._count = self._updated[keep], self._count[keep]
        self._meta = [meta for meta, k in zip(self._meta, keep.tolist(), strict=True) if k]

    def _initiate(self, scan: Scan, t: int, reports: NDArray[np.intp], tag: int) -> None:
        if not len(reports):
            return
        z = scan.z[reports]
        bands = self.params.band_index(self.params.frame.height(z))
        x = np.zeros((len(reports), 6))
        x[:, POS] = z
        p = np.zeros((len(reports), 6, 6))
        p[:, POS[:, None], POS] = scan.r[reports]
        for velocity in (1, 3, 5):
            p[:, velocity, velocity] = self._prior_var[bands]
        self._x = np.concatenate([self._x, x])
        self._p = np.concatenate([self._p, p])
        self._updated = np.concatenate([self._updated, np.full(len(reports), t, dtype=np.int64)])
        self._count = np.concatenate([self._count, np.ones(len(reports), dtype=np.int64)])
        for j, position in zip(reports.tolist(), z, strict=True):
            new_id = track_id(scan.key, j)
            while new_id in self._ids:  # a scan repeated word for word: same content, next id
                new_id = track_id(new_id, j)
            self._ids.add(new_id)
            meta = _Meta(id=new_id, created_us=t)
            meta.contributions[scan.sensor] += 1
            if scan.labels[j]:
                meta.labels[scan.sensor] = scan.labels[j]
            if scan.kinds[j]:
                meta.kinds[scan.kinds[j]] += 1
                meta.last_kind = scan.kinds[j]
            meta.tags.add(tag)
            e, n, u = (float(v) for v in position)
            meta.trail.append((t, e, n, u))
            self._meta.append(meta)

    # -- reading --------------------------------------------------------------------------------------

    def estimates(self, *, confirmed_only: bool = True) -> list[TrackEstimate]:
        """Return the tracks in the order they were started (confirmed ones only, by default)."""
        out: list[TrackEstimate] = []
        for i, meta in enumerate(self._meta):
            count = int(self._count[i])
            if confirmed_only and count < self.params.confirm_after:
                continue
            kind = ""
            if meta.kinds:
                best = max(meta.kinds.values())
                tied = {k for k, c in meta.kinds.items() if c == best}
                kind = meta.last_kind if meta.last_kind in tied else min(tied)
            out.append(
                TrackEstimate(
                    id=meta.id,
                    x=self._x[i].copy(),
                    p=self._p[i].copy(),
                    created_us=meta.created_us,
                    updated_us=int(self._updated[i]),
                    updates=count,
                    contributions=tuple(sorted(meta.contributions.items(), key=lambda kv: (-kv[1], kv[0]))),
                    labels=tuple(sorted(meta.labels.items())),
                    kind=kind,
                    trail=tuple(meta.trail),
                    tags=frozenset(meta.tags),
                )
            )
        return out
