"""`kizuna bench sim`: both simulators run in one go and the figures come out as documented."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kizuna.cli.app import app

runner = CliRunner()


def test_bench_sim_json_reports_both_rates_and_their_ratio() -> None:
    args = ["bench", "sim", "-n", "600", "--simpy", "3", "--workers", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"kizuna_rep_per_s", "simpy_rep_per_s", "ratio", "peak_rss_mib"} <= set(data)
    assert data["replications"] == 600
    assert data["simpy_replications"] == 3
    assert data["ratio"] == data["kizuna_rep_per_s"] / data["simpy_rep_per_s"]
    assert data["requests"] == 60
    assert data["organizations"] == 8


def test_bench_sim_prints_a_table() -> None:
    result = runner.invoke(app, ["bench", "sim", "-n", "300", "--simpy", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "SimPy reference" in result.stdout
    assert "ratio" in result.stdout
