"""`kizuna db` and `kizuna user`: migrate, describe, verify (finding tampering), rebuild; manage users."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from kizuna.cli.app import main
from kizuna.store import NewEvent, head_revision, open_store


def kizuna(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = ""
) -> tuple[int, str, str]:
    """Run the `kizuna` command as a user would (through `main`, which maps errors to exit codes)."""
    import io

    monkeypatch.setattr(sys, "argv", ["kizuna", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_upgrade_creates_the_default_database_in_the_data_directory(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = kizuna(capsys, monkeypatch, "db", "upgrade")
    assert code == 0
    assert f"migrated from revision (empty) to {head_revision()}" in out
    assert "kizuna-data/kizuna.db" in out
    code, out, _ = kizuna(capsys, monkeypatch, "db", "upgrade")
    assert f"is at the newest revision {head_revision()}" in out


def test_info_describes_events_streams_and_projections(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with open_store(url) as store:
        store.append("crisis:c1", [NewEvent("crisis.opened")])
        store.append("request:r1", [NewEvent("request.filed"), NewEvent("step.acted")])
        head = store.head()
    code, out, _ = kizuna(capsys, monkeypatch, "db", "info", "--url", url)
    assert code == 0
    assert "events     3" in out
    assert head.hash in out
    assert "streams    2 (crisis: 1, request: 1)" in out
    assert "formats    3 in hash format 2" in out
    assert "stream-catalog" in out


def test_info_on_an_empty_database_asks_for_an_upgrade(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    Path(url.removeprefix("sqlite:///")).touch()  # an empty SQLite file: a database without the schema
    code, out, err = kizuna(capsys, monkeypatch, "db", "info", "--url", url)
    assert code == 1
    assert f"revision   (empty) (newest is {head_revision()})" in out
    assert "run `kizuna db upgrade`" in err


@pytest.mark.parametrize("command", ["info", "verify", "rebuild"])
def test_inspecting_a_missing_database_is_an_error_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "typo" / "kizuna.db"
    code, _out, err = kizuna(capsys, monkeypatch, "db", command, "--url", f"sqlite:///{missing}")
    assert code == 2
    assert "no event store at" in err
    assert str(missing) in err
    assert not missing.parent.exists()


def test_verify_passes_an_intact_chain_and_names_the_tampered_seq(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with open_store(url) as store:
        for i in range(5):
            store.append("request:r1", [NewEvent("step.acted", {"i": i})])
    code, out, _ = kizuna(capsys, monkeypatch, "db", "verify", "--url", url)
    assert code == 0
    assert "the chain verifies: 5 events" in out
    assert "projections match the log: stream-catalog" in out
    with open_store(url) as store, store.engine.begin() as connection:
        connection.execute(text("UPDATE events SET payload = '{\"i\": 40}' WHERE seq = 4"))
    code, _, err = kizuna(capsys, monkeypatch, "db", "verify", "--url", url)
    assert code == 1
    assert "seq 4: altered" in err
    assert "the first at seq 4" in err


def test_verify_finds_a_damaged_projection(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with open_store(url) as store:
        store.append("request:r1", [NewEvent("request.filed")])
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE stream_catalog SET events = 7"))
    code, out, err = kizuna(capsys, monkeypatch, "db", "verify", "--url", url)
    assert code == 1
    assert "the chain verifies" in out
    # messages wrap at words to the terminal: compare them with the line breaks read as spaces
    assert "projection stream-catalog differs from a replay of the log; run `kizuna db rebuild`" in " ".join(
        err.split()
    )


def test_rebuild_recreates_the_projections(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    with open_store(url) as store:
        store.append("request:r1", [NewEvent("request.filed")])
        with store.engine.begin() as connection:
            connection.execute(text("DELETE FROM stream_catalog"))
    code, out, _ = kizuna(capsys, monkeypatch, "db", "rebuild", "--url", url)
    assert code == 0
    assert "rebuilt stream-catalog from 1 events" in out
    with open_store(url) as store:
        assert store.streams() == {"request:r1": 1}


def test_an_unsupported_url_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = kizuna(capsys, monkeypatch, "db", "verify", "--url", "mysql://localhost/db")
    assert code == 2
    assert "unsupported database 'mysql'" in err


def test_user_add_list_and_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    add = ["user", "add", "tanaka", "--name", "Tanaka Kenji", "--nation", "JPN", "--org", "jjoc"]
    code, out, _ = kizuna(
        capsys,
        monkeypatch,
        *add,
        "--role",
        "approver",
        "--clearance",
        "secret",
        "--password-stdin",
        "--url",
        url,
        stdin="a-good-password\n",
    )
    assert code == 0, out
    assert "added tanaka (JPN, jjoc, approver, cleared secret)" in out
    code, out, _ = kizuna(capsys, monkeypatch, "user", "list", "--url", url)
    assert "tanaka" in out
    assert "approver" in out
    code, out, err = kizuna(
        capsys, monkeypatch, "user", "token", "create", "tanaka", "--name", "ci", "--days", "7", "--url", url
    )
    assert code == 0
    token = out.strip()
    assert "expires in 7 days" in err
    from kizuna.access import UserDirectory
    from kizuna.errors import PermissionDenied

    with open_store(url) as store:
        directory = UserDirectory(store.engine)
        assert directory.user_for_token(token).id == "tanaka"
        assert directory.authenticate("tanaka", "a-good-password").nation == "JPN"
        epoch = directory.epoch()
    token_id = UserDirectory.token_id(token)
    code, out, _ = kizuna(capsys, monkeypatch, "user", "token", "list", "tanaka", "--url", url)
    assert code == 0
    assert token_id in out
    assert "valid" in out
    assert token not in out, "a listing never shows the token itself"
    code, out, _ = kizuna(capsys, monkeypatch, "user", "token", "revoke", token_id, "--url", url)
    assert code == 0
    assert f"revoked token {token_id} (tanaka, ci)" in out
    code, out, _ = kizuna(capsys, monkeypatch, "user", "token", "list", "--url", url)
    assert "revoked" in out
    with open_store(url) as store:
        directory = UserDirectory(store.engine)
        with pytest.raises(PermissionDenied):
            directory.user_for_token(token)
        assert directory.epoch() > epoch, "running services learn of the revocation"
    code, _, err = kizuna(capsys, monkeypatch, "user", "token", "revoke", "0123456789abcdef", "--url", url)
    assert code == 2
    assert "no token '0123456789abcdef'" in err


def test_user_add_refuses_bad_values_and_duplicates(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    bad = ["user", "add", "Bad Id", "--name", "X", "--nation", "jp", "--org", "jjoc", "--role", "boss"]
    code, _, err = kizuna(capsys, monkeypatch, *bad, "--no-password", "--url", url)
    assert code == 2
    for field in ("id:", "nation:", "role:"):
        assert field in err
    good = ["user", "add", "smith", "--name", "Smith", "--nation", "USA", "--org", "usfj", "--no-password"]
    assert kizuna(capsys, monkeypatch, *good, "--url", url)[0] == 0
    code, _, err = kizuna(capsys, monkeypatch, *good, "--url", url)
    assert code == 2
    assert "user 'smith' already exists" in err
    code, _, err = kizuna(capsys, monkeypatch, "user", "token", "create", "nobody", "--url", url)
    assert code == 2
    assert "unknown user 'nobody'; known: smith" in err
    short = ["user", "add", "lee", "--name", "Lee", "--nation", "USA", "--org", "usfj", "--password-stdin"]
    code, _, err = kizuna(capsys, monkeypatch, *short, "--url", url, stdin="short\n")
    assert code == 2
    assert "at least 8 characters" in err
    code, _, err = kizuna(capsys, monkeypatch, *short, "--url", url, stdin="password1\n")
    assert code == 2
    assert "most common ones" in err


def test_user_update_and_password(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    add = ["user", "add", "kim", "--name", "Kim", "--nation", "USA", "--org", "usfj", "--no-password"]
    assert kizuna(capsys, monkeypatch, *add, "--url", url)[0] == 0
    code, out, _ = kizuna(
        capsys,
        monkeypatch,
        "user",
        "update",
        "kim",
        "--role",
        "approver",
        "--clearance",
        "secret",
        "--url",
        url,
    )
    assert code == 0
    assert "updated kim (usfj, approver, cleared secret, active)" in out
    code, _, err = kizuna(capsys, monkeypatch, "user", "update", "kim", "--clearance", "cosmic", "--url", url)
    assert code == 2
    assert "clearance" in err
    assert kizuna(capsys, monkeypatch, "user", "update", "kim", "--url", url)[0] == 2
    password = ["user", "password", "kim", "--password-stdin", "--url", url]
    assert kizuna(capsys, monkeypatch, *password, stdin="kim-password-1\n")[0] == 0
    from kizuna.access import UserDirectory
    from kizuna.errors import PermissionDenied

    with open_store(url) as store:
        assert UserDirectory(store.engine).authenticate("kim", "kim-password-1").role == "approver"
    assert kizuna(capsys, monkeypatch, "user", "update", "kim", "--inactive", "--url", url)[0] == 0
    with open_store(url) as store:
        directory = UserDirectory(store.engine)
        assert not directory.get("kim").active
        with pytest.raises(PermissionDenied):
            directory.authenticate("kim", "kim-password-1")  # inactive


def test_serve_on_a_busy_port_says_so_and_suggests_another(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = kizuna(capsys, monkeypatch, "serve", "--port", str(port))
    assert code == 2
    flat = " ".join(err.split())
    assert f"port {port} on 127.0.0.1 is already in use" in flat
    assert f"--port {port + 1}" in flat
