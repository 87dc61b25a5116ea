"""`kizuna bench web` runs end to end (a smoke run: its figures, never their values, are checked)."""

from __future__ import annotations

import pytest

from kizuna.web import bench


@pytest.mark.slow
def test_the_web_benchmark_reports_load_and_update_figures() -> None:
    figures = bench.run(actions=3, loads=1)
    for key in ("overview_cold", "overview_warm", "reference_sign_in_cold", "reference_sign_in_warm"):
        assert figures[key]["n"] == 1
        assert figures[key]["p50_ms"] > 0
    assert figures["update_appearance"]["n"] == 3
    assert figures["reference_stream_delivery"]["n"] == 3
    assert set(figures["goals"]) >= {"overview_cold_met", "overview_warm_met", "update_met"}
