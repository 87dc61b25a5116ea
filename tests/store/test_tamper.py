"""Tamper evidence: verify reads every row as stored and names each bad one, on SQLite and PostgreSQL.

Each test edits a real database as an attacker with write access would (on PostgreSQL, where column
types and NOT NULL hold, first loosening them with DDL as such an attacker can), then checks that
`verify()` names the row (its seq, or its rowid / ctid when the seq itself is bad), the field and what
is wrong, that it goes on past the first problem, and that `kizuna db verify` says the same with exit 1
and no traceback.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from kizuna.cli.app import main
from kizuna.store import ChainFault, EventStore, NewEvent, open_store
from kizuna.store.migrate import head_revision

#: Every kind of damage, as (column, SQL value, PostgreSQL type the column must take to hold it).
PAYLOAD = '{"i":3}'


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    with open_store(store_url, listen=False) as opened:
        for i in range(1, 7):
            opened.append(f"request:r{i % 2}", [NewEvent("step.acted", {"i": i})], actor=f"user-{i}")
        yield opened


def _sql(store: EventStore, *statements: str, **params: object) -> None:
    with store.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)


def _loosen(store: EventStore, column: str, *, to_text: bool = False) -> None:
    """Let `column` hold NULL (and, with `to_text`, any text): DDL an attacker with write access may run."""
    if store.backend == "postgresql":
        statements = []
        if column == "seq":
            statements.append("ALTER TABLE events DROP CONSTRAINT events_pkey")
        statements.append(f"ALTER TABLE events ALTER COLUMN {column} DROP NOT NULL")
        if to_text:
            statements.append(f"ALTER TABLE events ALTER COLUMN {column} TYPE text USING {column}::text")
        _sql(store, *statements)
    elif not to_text:  # SQLite keeps any value in any column, but NOT NULL holds: copy to a loose table
        columns = [
            "seq", "stream", "version", "type", "payload", "actor", "marking", "occurred_at",
            "recorded_at", "idempotency_key", "prev_hash", "hash", "hash_format",
        ]  # fmt: skip
        listed = ", ".join(columns)
        _sql(
            store,
            "ALTER TABLE events RENAME TO events_before",
            f"CREATE TABLE events ({listed})",
            f"INSERT INTO events SELECT {listed} FROM events_before",
            "DROP TABLE events_before",
        )


def _problems(store: EventStore) -> list[tuple[int | None, ChainFault, str | None]]:
    return [(p.seq, p.fault, p.field) for p in store.verify().problems]


@pytest.mark.parametrize(
    ("column", "value", "loosen", "says"),
    [
        ("payload", '{"i":NaN}', True, "NaN is not JSON"),
        ("payload", '{"i":3', True, "not JSON"),
        ("payload", "[3]", False, "is a JSON list, not an object"),
        ("marking", '{"level":Infinity}', True, "Infinity is not JSON"),
        ("occurred_at", "yesterday", True, "'yesterday' is not a time"),
        ("recorded_at", "2027-02-30 10:00:00.000000", True, "is not a time"),
        ("version", "two", True, "'two' is not an integer"),
        ("version", "0", True, "0 is not a positive integer"),
        ("hash_format", "9", False, "9 is not a known hash format"),
        ("hash", "deadbeef", False, "'deadbeef' is not a SHA-256 hex digest"),
        ("prev_hash", "x" * 64, False, "is not a SHA-256 hex digest"),
    ],
)
def test_a_value_that_cannot_be_read_is_named_with_its_seq_and_field(
    store: EventStore, column: str, value: str, loosen: bool, says: str
) -> None:
    if loosen:
        _loosen(store, column, to_text=True)
    _sql(store, f"UPDATE events SET {column} = :v WHERE seq = 3", v=value)
    report = store.verify()
    bad = [p for p in report.problems if p.fault is ChainFault.MALFORMED]
    assert [(p.seq, p.field) for p in bad] == [(3, column)]
    assert says in bad[0].message
    assert all(p.seq == 3 or p.fault is ChainFault.BROKEN_LINK for p in report.problems), report.problems


@pytest.mark.parametrize("column", ["payload", "stream", "type", "occurred_at", "prev_hash", "hash"])
def test_a_null_where_a_value_must_be_is_named(store: EventStore, column: str) -> None:
    _loosen(store, column)
    _sql(store, f"UPDATE events SET {column} = NULL WHERE seq = 5")
    report = store.verify()
    assert (5, ChainFault.MALFORMED, column) in _problems(store)
    assert any(p.message == "is NULL" for p in report.problems)


def test_a_seq_that_is_not_a_number_is_named_by_its_row(store: EventStore) -> None:
    _loosen(store, "seq", to_text=True)
    _sql(store, "UPDATE events SET seq = 'three' WHERE seq = '3'" if store.backend == "postgresql" else
         "UPDATE events SET seq = 'three' WHERE seq = 3")  # fmt: skip
    problems = store.verify().problems
    (bad,) = [p for p in problems if p.field == "seq" and p.fault is ChainFault.MALFORMED]
    assert bad.seq is None
    assert bad.row is not None
    assert bad.row.startswith("ctid" if store.backend == "postgresql" else "rowid")
    assert str(bad).startswith(f"{bad.row}: malformed: seq: 'three' is not an integer")
    assert (4, ChainFault.GAP) in [(p.seq, p.fault) for p in problems], "and the hole it left is found"


def test_a_real_seq_stored_as_text_in_sqlite_is_named(sqlite_url: str) -> None:
    """SQLite's loose typing: a seq of 3.5 or '3x' sits in the table; it is not an event's place."""
    with open_store(sqlite_url) as store:
        for i in range(4):
            store.append("request:r1", [NewEvent("a", {"i": i})])
        _sql(
            store,
            "UPDATE events SET seq = 3.5 WHERE seq = 3",
            "UPDATE events SET version = '2x' WHERE seq = 2",
        )
        problems = store.verify().problems
    assert any(p.field == "seq" and "3.5 is not an integer" in p.message for p in problems)
    assert (2, ChainFault.MALFORMED, "version") in [(p.seq, p.fault, p.field) for p in problems]


def test_text_that_is_not_utf8_is_named(sqlite_url: str) -> None:
    with open_store(sqlite_url) as store:
        store.append("request:r1", [NewEvent("a", {"i": 1}), NewEvent("b", {"i": 2})])
        _sql(store, "UPDATE events SET payload = CAST(X'7B2269223AFF7D' AS TEXT) WHERE seq = 2")
        (problem,) = store.verify().problems
    assert (problem.seq, problem.fault, problem.field) == (2, ChainFault.MALFORMED, "payload")
    assert "not UTF-8" in problem.message


def test_a_duplicate_key_that_changes_what_readers_see_is_found(store: EventStore) -> None:
    """The issue's attack: prepend `"action":"deny"`; Python reads the last value, SQLite's JSON the first."""
    _sql(store, "UPDATE events SET payload = :p WHERE seq = 4", p='{"i":999,"i":4}')
    assert _problems(store) == [(4, ChainFault.NOT_CANONICAL, "payload")]
    (problem,) = store.verify().problems
    assert "duplicate key 'i'" in problem.message
    if store.backend == "sqlite":
        with store.engine.connect() as connection:
            read = connection.execute(text("SELECT json_extract(payload, '$.i') FROM events WHERE seq = 4"))
            assert read.scalar() == 999, "SQLite reads the first value: readers disagree"


def test_the_same_value_written_differently_is_not_canonical_but_not_altered(store: EventStore) -> None:
    _sql(store, "UPDATE events SET payload = :p WHERE seq = 2", p='{ "i" : 2 }')
    assert _problems(store) == [(2, ChainFault.NOT_CANONICAL, "payload")]


def test_every_damaged_row_is_named_in_one_pass(store: EventStore) -> None:
    _loosen(store, "payload", to_text=True)
    _loosen(store, "occurred_at", to_text=True)
    _sql(store, "UPDATE events SET payload = :p WHERE seq = 2", p='{"i":NaN}')
    _sql(store, "UPDATE events SET occurred_at = 'soon' WHERE seq = 4")
    _sql(store, "UPDATE events SET payload = :p WHERE seq = 6", p='{"i":60,"i":6}')
    problems = _problems(store)
    assert problems == [
        (2, ChainFault.MALFORMED, "payload"),
        (4, ChainFault.MALFORMED, "occurred_at"),
        (6, ChainFault.NOT_CANONICAL, "payload"),
    ]


def test_a_missing_or_damaged_chain_head_is_named(store: EventStore) -> None:
    _sql(store, "UPDATE chain_head SET hash = 'nope'")
    (problem,) = store.verify().problems
    assert problem.fault is ChainFault.HEAD
    assert "the chain head row is malformed" in problem.message
    _sql(store, "DELETE FROM chain_head")
    (problem,) = store.verify().problems
    assert "the chain head row is missing" in problem.message


def test_an_expected_head_recorded_elsewhere_must_be_in_the_chain(store: EventStore) -> None:
    recorded = store.head().hash
    store.append("request:r9", [NewEvent("later")])
    assert store.verify(expect_head=recorded).ok, "the log may have grown since"
    assert store.verify(expect_head=recorded.upper()).ok
    (problem,) = store.verify(expect_head="f" * 64).problems
    assert problem.fault is ChainFault.EXPECTED_HEAD
    assert "is not the hash of any event" in problem.message


def test_the_events_a_pass_yields_are_those_it_checked(store: EventStore) -> None:
    _loosen(store, "payload", to_text=True)
    _sql(store, "UPDATE events SET payload = :p WHERE seq = 2", p='{"i":NaN}')
    verification = store.verification()
    seqs = [event.seq for event in verification]
    assert seqs == [1, 3, 4, 5, 6], "a row that cannot be read is not handed out"
    assert [p.seq for p in verification.report.problems] == [2]
    with pytest.raises(RuntimeError, match="one pass"):
        iter(verification)


def _kizuna(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["kizuna", *args])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_kizuna_db_verify_names_every_bad_row_and_exits_1_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, store_url: str
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    with open_store(store_url, listen=False) as store:
        for i in range(1, 7):
            store.append("request:r1", [NewEvent("step.acted", {"i": i})])
        head = store.head().hash
        _loosen(store, "payload", to_text=True)
        _loosen(store, "version", to_text=True)
        _sql(store, "UPDATE events SET payload = :p WHERE seq = 2", p='{"i":NaN}')
        _sql(store, "UPDATE events SET version = 'x' WHERE seq = 3")
        _sql(store, "UPDATE events SET payload = :p WHERE seq = 5", p='{"action":"deny","i":5}')
    code, output = _kizuna(capsys, monkeypatch, "db", "verify", "--url", store_url)
    assert code == 1
    assert "Traceback" not in output
    assert "seq 2: malformed: payload: NaN is not JSON" in output
    assert "seq 3: malformed: version: 'x' is not an integer" in output
    assert "seq 5: altered" in output
    assert "the first at seq 2" in output
    with open_store(store_url, listen=False) as store:
        _sql(store, "DELETE FROM events WHERE seq >= 2")
        _sql(store, "UPDATE chain_head SET seq = 1, hash = (SELECT hash FROM events WHERE seq = 1)")
    code, output = _kizuna(capsys, monkeypatch, "db", "verify", "--url", store_url, "--expect-head", head)
    assert code == 1
    assert f"expected head {head} is not the hash of any event" in output


def test_a_database_of_revision_0002_upgrades_and_still_verifies(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A demo database written before hash formats keeps its hashes; new events are hashed in format 2."""
    path = tmp_path / "demo.db"
    with sqlite3.connect(path) as connection:
        connection.executescript((Path(__file__).parent / "data" / "demo-revision-0002.sql").read_text())
    url = f"sqlite:///{path}"
    code, output = _kizuna(capsys, monkeypatch, "db", "upgrade", "--url", url)
    assert code == 0
    assert f"migrated from revision 0002 to {head_revision()}" in output
    assert "9 event(s) keep their hashes in format 1" in output
    code, output = _kizuna(
        capsys,
        monkeypatch,
        "db",
        "verify",
        "--url",
        url,
        "--expect-head",
        "00e587cb7e1f9cad004b5c9e2abe8c184c96540079cf524c2eff4ef1df197ce2",  # printed by revision 0002
    )
    assert code == 0, output
    assert "the chain verifies: 9 events (9 in hash format 1)" in output
    with open_store(url) as store:
        store.append("crisis:taiwan-contingency", [NewEvent("note", {"x": 1.0})])
        report = store.verify()
        assert report.ok, report.problems
        assert report.formats == {1: 9, 2: 1}
        # A format-1 event is held to its own canonical form: a duplicate key is still found.
        with store.engine.begin() as connection:
            original = connection.execute(text("SELECT payload FROM events WHERE seq = 4")).scalar_one()
            connection.execute(
                text("UPDATE events SET payload = :p WHERE seq = 4"),
                {"p": '{"action":"deny",' + original[1:]},
            )
        assert [(p.seq, p.fault) for p in store.verify().problems] == [(4, ChainFault.NOT_CANONICAL)]


@pytest.mark.postgres
def test_verify_reads_times_the_same_whatever_the_servers_date_style(postgres_url: str) -> None:
    """PostgreSQL writes times as text in its session's DateStyle and TimeZone; verify sets its own."""
    from sqlalchemy import event

    with open_store(postgres_url, listen=False) as store:
        for i in range(3):
            store.append("request:r1", [NewEvent("a", {"i": i})])

        @event.listens_for(store.engine, "connect")
        def _odd_session(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("SET datestyle TO 'SQL, DMY'; SET timezone TO 'Asia/Tokyo'")
            cursor.close()
            dbapi_connection.commit()  # type: ignore[attr-defined]

        store.engine.dispose()
        with store.engine.connect() as connection:
            shown = connection.execute(text("SELECT CAST(occurred_at AS TEXT) FROM events LIMIT 1")).scalar()
        assert "/" in str(shown), "the session really writes times another way"
        report = store.verify()
        assert report.ok, report.problems
