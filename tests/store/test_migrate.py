"""Migrations: an empty database migrates to exactly the schema the code expects, once, even in a race."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

from kizuna.access.directory import metadata as accounts_metadata
from kizuna.store import current_revision, head_revision, open_store, upgrade
from kizuna.store.engine import make_engine
from kizuna.store.schema import metadata


def _columns(url: str) -> dict[str, set[tuple[str, bool]]]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: {(c["name"], bool(c["nullable"])) for c in inspector.get_columns(table)}
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
    finally:
        engine.dispose()


def test_an_empty_database_migrates_to_the_head_revision(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == head_revision()
        assert current_revision(engine) == head_revision()
        assert upgrade(engine) == head_revision()  # a second run does nothing
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_one_the_code_uses(store_url: str) -> None:
    with open_store(store_url, listen=False):
        pass
    found = _columns(store_url)
    for table in [*metadata.sorted_tables, *accounts_metadata.sorted_tables]:
        expected = {(c.name, bool(c.nullable)) for c in table.columns}
        assert found[table.name] == expected, table.name
    assert set(found) == {t.name for t in metadata.sorted_tables} | {"stream_catalog"}


def test_stores_opening_a_fresh_database_at_once_migrate_it_once(store_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def open_and_close() -> None:
        try:
            barrier.wait()
            with open_store(store_url, listen=False) as store:
                assert store.head().seq == 0
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_and_close) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_store(store_url, listen=False) as store:
        assert store.head().seq == 0
        assert store.verify().ok
