"""The service verifies the event chain at start and refuses to serve a tampered log unless told to.

The issue's attack: with the service stopped, someone with database access edits the marking inside a
U.S.-only report's payload to release it to Japan. Without the check the restarted service would serve
it to a Japanese user; with it, the service does not start, and `kizuna serve` says which event is
wrong (exit 1). Told to serve anyway, it starts with a loud warning and health says `tampered`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from tests.service.conftest import US_NOFORN, build_service
from tests.service.test_end_to_end import CRISIS, open_crisis

from kizuna.access import Passwords
from kizuna.cli.app import main
from kizuna.service import create_app
from kizuna.settings import Settings
from kizuna.store import ChainFault, TamperedLog, open_store
from kizuna.store.pgserver import free_port


def _seed(settings: Settings) -> int:
    """Open a crisis and file a U.S.-only report through the API; return the report's seq."""
    service: Iterator = build_service(settings)  # type: ignore[type-arg]
    running = next(service)
    try:
        open_crisis(running)
        filed = running.client("usfj-op").post(
            f"/api/crises/{CRISIS}/sitreps",
            {"title": "posture", "text": "U.S. eyes only", "refs": [], "marking": US_NOFORN.to_json()},
        )
        assert filed.status_code == 201, filed.text
        return running.runtime.store.head().seq
    finally:
        service.close()


def _release_to_japan(url: str, seq: int) -> None:
    """Edit the report's payload in the database: its marking now releases it to JPN."""
    with open_store(url, listen=False) as store, store.engine.begin() as connection:
        query = text("SELECT CAST(payload AS TEXT) FROM events WHERE seq = :seq")
        payload = json.loads(connection.execute(query, {"seq": seq}).scalar_one())
        payload["marking"].update(rel_to=["JPN", "USA"], noforn=False)
        connection.execute(
            text("UPDATE events SET payload = :p WHERE seq = :seq"),
            {"p": json.dumps(payload, sort_keys=True, separators=(",", ":")), "seq": seq},
        )


@pytest.fixture
def settings(store_url: str, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=store_url, sqlite_synchronous="NORMAL")


def test_an_edited_marking_stops_the_service_at_start(settings: Settings) -> None:
    seq = _seed(settings)
    create_app(settings, passwords=Passwords.fast()).state.runtime.close()  # intact: it starts
    _release_to_japan(settings.resolved_database_url(), seq)
    with pytest.raises(TamperedLog, match=f"seq {seq}: altered") as refused:
        create_app(settings, passwords=Passwords.fast())
    assert [(p.seq, p.fault) for p in refused.value.report.problems] == [(seq, ChainFault.ALTERED)]


def test_told_to_serve_anyway_it_serves_with_a_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    seq = _seed(settings)
    _release_to_japan(settings.resolved_database_url(), seq)
    with caplog.at_level(logging.WARNING, logger="kizuna.service"):
        app = create_app(settings.model_copy(update={"serve_tampered_log": True}), passwords=Passwords.fast())
    assert "SERVING A TAMPERED LOG" in caplog.text
    assert f"seq {seq}: altered" in caplog.text
    runtime = app.state.runtime
    with TestClient(app) as http:
        assert http.get("/api/health").json()["status"] == "tampered"
        # It serves the log as it now reads: that is what the operator accepted.
        token = runtime.directory.issue_token("jp-observer", "tests")
        sitreps = http.get("/api/sitreps", headers={"Authorization": f"Bearer {token}"}).json()
        assert [s["title"] for s in sitreps] == ["posture"]


def test_an_expected_head_recorded_elsewhere_must_be_in_the_log(settings: Settings) -> None:
    _seed(settings)
    with open_store(settings.resolved_database_url(), listen=False) as store:
        recorded = store.head().hash
    create_app(
        settings.model_copy(update={"expect_head": recorded}), passwords=Passwords.fast()
    ).state.runtime.close()
    with pytest.raises(TamperedLog, match=r"expected head f{64} is not the hash of any event"):
        create_app(settings.model_copy(update={"expect_head": "f" * 64}), passwords=Passwords.fast())


def test_the_view_comes_from_the_pass_that_verified_the_log(settings: Settings) -> None:
    """The coordinator is built from the rows the verification read, not from a second read."""
    _seed(settings)
    app = create_app(settings, passwords=Passwords.fast())
    runtime = app.state.runtime
    try:
        assert runtime.integrity is not None
        assert runtime.integrity.ok
        assert runtime.integrity.checked == runtime.store.head().seq == runtime.coordinator.view.last_seq
    finally:
        runtime.close()


def _serve(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    """Run `kizuna serve` in this process with uvicorn stubbed out (it would serve until killed)."""
    import uvicorn

    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **_: served.append(app))
    monkeypatch.setattr(sys, "argv", ["kizuna", "serve", *args])
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    for app in served:
        app.state.runtime.close()  # type: ignore[attr-defined]
    return code, captured.out + captured.err


def test_kizuna_serve_refuses_a_tampered_log_and_says_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'kizuna.db'}"
    seq = _seed(Settings(data_dir=tmp_path, database_url=url))
    _release_to_japan(url, seq)
    port = str(free_port())  # the command checks its port first: not 8000, which may be in use here
    code, output = _serve(capsys, monkeypatch, "--url", url, "--port", port)
    assert code == 1
    assert f"seq {seq}: altered" in output
    assert "refusing to serve: the event log does not verify" in output
    assert "Traceback" not in output
    code, output = _serve(capsys, monkeypatch, "--url", url, "--port", port, "--serve-tampered-log")
    assert code == 0
    assert "WARNING: SERVING A TAMPERED EVENT LOG" in output
    assert f"seq {seq}: altered" in output
    assert f"Serving on http://127.0.0.1:{port}" in output
