"""The vectorized engine is Stone Soup's tracker, scan for scan: same tracks, same states, same ids."""

from __future__ import annotations

import numpy as np
import pytest
from tests.intel.conftest import crossing_scans, params

from kizuna.intel import FusionEngine
from kizuna.intel.reference import StoneSoupFusion


@pytest.mark.slow
def test_engine_equals_stone_soup_on_the_same_scans() -> None:
    scans = crossing_scans(targets=6, scans=24)
    engine, reference = FusionEngine(params()), StoneSoupFusion(params())
    for scan in scans:
        engine.ingest(scan)
        reference.ingest(scan)
    ours = sorted(engine.estimates(confirmed_only=False), key=lambda e: e.id)
    theirs = reference.estimates(confirmed_only=False)
    assert [e.id for e in ours] == [e.id for e in theirs]
    assert len([e for e in ours if e.updates >= 3]) >= 5  # the targets are tracked, not just clutter
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.x, b.x, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(a.p, b.p, rtol=1e-9, atol=1e-6)
        assert (a.updates, a.contributions, a.created_us, a.updated_us) == (
            b.updates,
            b.contributions,
            b.created_us,
            b.updated_us,
        )


def test_a_late_scan_is_fused_as_current_within_the_lag_and_dropped_beyond() -> None:
    scans = crossing_scans(scans=8)  # one a second
    engine = FusionEngine(params())
    for scan in scans:
        engine.ingest(scan)
    before, now = engine.version, engine.time_us
    assert engine.ingest(scans[0]) is False  # seven seconds old, beyond max_lag_s = 5
    assert (engine.late_scans, engine.version, engine.time_us) == (1, before, now)
    assert engine.ingest(scans[-3]) is True  # two seconds old: fused at the engine's time
    assert (engine.version, engine.time_us) == (before + 1, now)
