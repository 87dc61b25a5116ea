"""The service benchmark runs end to end (tiny load): a server subprocess, commands, paced load, fan-out."""

from __future__ import annotations

import pytest

from kizuna.service import benchmark


@pytest.mark.slow
def test_the_benchmark_measures_a_real_server() -> None:
    figures = benchmark.run(clients=3, seconds=1.0, subscribers=4, events=2, postgresql=False, rate=30.0)
    sqlite = figures["sqlite"]
    assert sqlite["commands"] > 0
    assert sqlite["errors"] == 0
    assert sqlite["p50_ms"] <= sqlite["p99_ms"]
    assert sqlite["at_offered_rate"]["errors"] == 0
    assert figures["fanout"]["deliveries"] == 4 * 2, "every subscriber got every event"
    assert figures["fanout_p99_ms"] == figures["fanout"]["p99_ms"]
    assert figures["reference"]["errors"] == 0
    assert "postgresql" not in figures
