"""The fusion frame: WGS-84 positions in a local east-north-up (ENU) Cartesian frame around an origin.

Fusion filters in metres: a constant-velocity model is linear in a Cartesian frame, and an ENU frame is
only a rotated and shifted Earth-centred frame, so nothing is distorted far from the origin (a ship
1,000 km away simply sits lower in the frame, below the origin's horizon). Conversions use `pymap3d`;
covariances given in the ENU frame at a report's own position are rotated into the fusion frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Mean Earth radius (m), for the approximate height that chooses a motion band.
EARTH_RADIUS_M = 6_371_000.0

Array = NDArray[np.float64]


def enu_axes(lat_deg: Array | float, lon_deg: Array | float) -> Array:
    """Return the east, north and up unit vectors (rows) in Earth-centred coordinates, per point."""
    lat = np.radians(np.asarray(lat_deg, dtype=float))
    lon = np.radians(np.asarray(lon_deg, dtype=float))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    zero = np.zeros_like(lat)
    east = np.stack([-so, co, zero], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return np.stack([east, north, up], axis=-2)


@dataclass(frozen=True, slots=True)
class Frame:
    """A local ENU frame with its origin at a WGS-84 latitude, longitude and height."""

    lat: float
    lon: float
    height_m: float = 0.0

    def to_enu(self, lat: Array, lon: Array, alt_m: Array) -> Array:
        """Return ENU positions (n, 3) in metres of geodetic points (degrees, metres)."""
        import pymap3d

        e, n, u = pymap3d.geodetic2enu(
            np.asarray(lat, dtype=float),
            np.asarray(lon, dtype=float),
            np.asarray(alt_m, dtype=float),
            self.lat,
            self.lon,
            self.height_m,
        )
        return np.stack([np.asarray(e), np.asarray(n), np.asarray(u)], axis=-1)

    def to_geodetic(self, enu: Array) -> tuple[Array, Array, Array]:
        """Return latitude, longitude (degrees) and height (m) of ENU positions (n, 3)."""
        import pymap3d

        enu = np.asarray(enu, dtype=float)
        lat, lon, alt = pymap3d.enu2geodetic(
            enu[..., 0], enu[..., 1], enu[..., 2], self.lat, self.lon, self.height_m
        )
        return np.asarray(lat), np.asarray(lon), np.asarray(alt)

    def covariance_to_frame(self, lat: Array, lon: Array, cov_local: Array) -> Array:
        """Rotate covariances (n, 3, 3) given in the ENU frame at each point into this frame."""
        rotation = enu_axes(self.lat, self.lon) @ np.swapaxes(enu_axes(lat, lon), -1, -2)
        return rotation @ cov_local @ np.swapaxes(rotation, -1, -2)

    def rotations_from_local(self, lat: Array, lon: Array) -> Array:
        """Return rotations (n, 3, 3) taking vectors of the ENU frame at each point into this frame."""
        return enu_axes(self.lat, self.lon) @ np.swapaxes(enu_axes(lat, lon), -1, -2)

    def covariance_to_local(self, lat: Array, lon: Array, cov_frame: Array) -> Array:
        """Rotate covariances (n, 3, 3) of this frame into the ENU frame at each point."""
        rotation = enu_axes(lat, lon) @ enu_axes(self.lat, self.lon).T
        return rotation @ cov_frame @ np.swapaxes(rotation, -1, -2)

    def vectors_to_local(self, lat: Array, lon: Array, vectors: Array) -> Array:
        """Rotate vectors (n, 3) of this frame (e.g. velocities) into the ENU frame at each point."""
        rotation = enu_axes(lat, lon) @ enu_axes(self.lat, self.lon).T
        return np.asarray(np.einsum("nij,nj->ni", rotation, vectors), dtype=float)

    def height(self, enu: Array) -> Array:
        """Return the approximate height above a spherical Earth of ENU positions (n, 3), in metres.

        Cheap and accurate to tens of metres within 2,000 km, which is all the motion bands need.
        """
        enu = np.asarray(enu, dtype=float)
        radius = EARTH_RADIUS_M + self.height_m
        return np.asarray(
            np.sqrt(enu[..., 0] ** 2 + enu[..., 1] ** 2 + (radius + enu[..., 2]) ** 2) - EARTH_RADIUS_M
        )
