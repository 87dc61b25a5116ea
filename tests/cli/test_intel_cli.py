"""The intel and cot commands: exit codes, errors by line, a score, certificates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kizuna.cli.app import app

TINY = """\
id: tiny
name: Two ships and a radar
origin: {lat: 25.5, lon: 123.5}
start: 2027-04-06T05:00:00Z
duration_s: 90
seed: 1
targets:
  - {id: a, kind: a-h-S, start: {lat: 25.50, lon: 123.50}, speed_m_s: 5, course_deg: 90, assumption: test}
  - {id: b, kind: a-n-S, start: {lat: 25.55, lon: 123.45}, speed_m_s: 3, course_deg: 10, assumption: test}
sensors:
  - id: radar
    name: Radar
    nation: JPN
    kind: radar
    position: {lat: 25.5, lon: 123.5}
    range_km: 50
    altitude_m: [-100, 1000]
    interval_s: 2
    pd: 0.95
    sigma_m: [30, 30, 10]
    marking: {level: secret, rel_to: [USA]}
    assumption: test
"""


def test_validate_says_valid_or_lists_problems_and_exits_accordingly(tmp_path: Path) -> None:
    good = tmp_path / "tiny.yaml"
    good.write_text(TINY)
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("pd: 0.95", "pd: 2"))
    runner = CliRunner()
    assert runner.invoke(app, ["intel", "validate", str(good)]).exit_code == 0
    result = runner.invoke(app, ["intel", "validate", str(bad)])
    assert result.exit_code == 1
    flat = " ".join(result.output.split())  # the console wraps at the terminal's width
    assert "bad.yaml:19: sensors.0.pd: Input should be less than or equal to 1 (got 2)" in flat
    assert runner.invoke(app, ["intel", "validate", str(tmp_path / "none.yaml")]).exit_code == 2
    assert runner.invoke(app, ["intel", "score", "no-such-picture"]).exit_code == 2


def test_score_reports_gospa_per_derived_audience(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    result = CliRunner().invoke(app, ["intel", "score", str(path), "--json", "--warmup", "20"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    # One marking (Japanese, REL TO USA): every audience it calls for sees the same scans, so one score.
    assert [a["audience"] for a in figures["audiences"]] == ["JPN@secret"]
    for audience in figures["audiences"]:
        assert audience["missed_rate"] == 0.0
        assert audience["gospa_m"] < 200


def test_certs_writes_a_ca_a_server_and_one_client_per_user(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["cot", "certs", "--out", str(tmp_path), "--user", "jp-watch"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "ca.key",
        "ca.pem",
        "client-jp-watch.key",
        "client-jp-watch.pem",
        "server.key",
        "server.pem",
    ]
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((tmp_path / "client-jp-watch.pem").read_bytes())
    assert cert.subject.rfc4514_string() == "CN=jp-watch"


def test_cot_serve_needs_an_identity() -> None:
    result = CliRunner().invoke(app, ["cot", "serve", "--crisis", "x"])
    assert result.exit_code == 2
    assert "--user" in result.output
