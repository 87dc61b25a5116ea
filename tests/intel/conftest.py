"""Fixtures for intelligence tests: small deterministic scans, sensors of several markings."""

from __future__ import annotations

import numpy as np

from kizuna.intel import Frame, FusionParams, Scan

FRAME = Frame(25.5, 123.5)
T0 = 1_806_000_000_000_000  # microseconds since the epoch (2027)


def crossing_scans(*, targets: int = 6, scans: int = 24, sensors: int = 2, seed: int = 3) -> list[Scan]:
    """Return scans of a few ships and aircraft crossing, from `sensors` sensors, with false alarms."""
    rng = np.random.default_rng(seed)
    start = rng.uniform(-20_000, 20_000, (targets, 3))
    start[:, 2] = np.where(np.arange(targets) % 2, 6_000.0, 0.0)
    velocity = rng.normal(0, 6, (targets, 3))
    velocity[:, 2] = 0
    velocity[1::2, :2] *= 30
    out: list[Scan] = []
    for k in range(scans):
        sensor = k % sensors
        t = T0 + k * 1_000_000
        truth = start + velocity * (k * 1.0)
        seen = rng.random(targets) < 0.9
        sigma = 40.0 + 60.0 * sensor
        z = truth[seen] + rng.normal(0, sigma, (int(seen.sum()), 3))
        clutter = rng.poisson(1.0)
        z = np.vstack([z, np.column_stack([rng.uniform(-25_000, 25_000, (clutter, 2)), np.zeros(clutter)])])
        r = np.tile(np.diag([sigma**2] * 3), (len(z), 1, 1))
        out.append(Scan.build(f"sensor-{sensor}", t, z, r))
    return out


def params() -> FusionParams:
    """Return the default fusion parameters in the test frame."""
    return FusionParams(frame=FRAME)
