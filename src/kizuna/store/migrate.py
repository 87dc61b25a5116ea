"""Schema migrations: bring a database to the newest revision with Alembic, configured in code.

The migration scripts ship inside the package (`kizuna/store/migrations`), so this works from an
installed wheel with no alembic.ini. Concurrent openers are serialized: on PostgreSQL by a session
advisory lock, on SQLite by `BEGIN IMMEDIATE`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, Engine, text

from kizuna.store.engine import WRITE_OPTION, is_postgresql

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Advisory lock key held while migrating a PostgreSQL database ("kizuna-m" as an integer).
_PG_MIGRATION_LOCK = 0x6B697A756E612D6D


def _config(connection: Connection | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest revision the package ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Migrate the database to the newest revision (doing nothing if it is there) and return it."""
    head = head_revision()
    if current_revision(engine) == head:
        return head
    from alembic import command

    with engine.connect().execution_options(**{WRITE_OPTION: True}) as connection:
        if is_postgresql(engine):
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
            connection.commit()
        try:
            with connection.begin():
                command.upgrade(_config(connection), "head")
        finally:
            if is_postgresql(engine):
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_MIGRATION_LOCK})
                connection.commit()
    return head
