"""Each user's preferences for the web console: the language labels are shown in and the time zone.

Kept server-side, one row per user in the store's `user_preferences` table (migration 0005), so a
choice made in one browser holds in every browser the user signs in from. Like the user directory,
this reads and writes the table with SQLAlchemy Core and knows nothing else of the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import available_timezones

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from kizuna.errors import InvalidQuery

#: Languages the console has message catalogs for.
LANGUAGES = ("en", "ja")

_metadata = MetaData()
preferences_table = Table(
    "user_preferences",
    _metadata,
    Column("user_id", String(80), primary_key=True),
    Column("language", String(16), nullable=True),
    Column("time_zone", String(64), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True, slots=True)
class Preferences:
    """A user's choices; None means the default (English; the zone of the user's organization)."""

    language: str | None = None
    time_zone: str | None = None


class PreferenceStore:
    """Reads and writes users' preferences in the store's database."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        """Use the `user_preferences` table of the database behind `engine`."""
        self.engine = engine
        self._clock = clock

    def get(self, user_id: str) -> Preferences:
        """Return a user's preferences (the defaults when none are stored)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(preferences_table).where(preferences_table.c.user_id == user_id)
            ).first()
        return Preferences() if row is None else Preferences(language=row.language, time_zone=row.time_zone)

    def set(self, user_id: str, *, language: str | None = None, time_zone: str | None = None) -> Preferences:
        """Store the given choices (None leaves a choice as it was) and return the preferences now.

        Raises:
            InvalidQuery: An unknown language or time zone.
        """
        if language is not None and language not in LANGUAGES:
            raise InvalidQuery(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
        if time_zone is not None and time_zone not in available_timezones():
            raise InvalidQuery(f"unknown time zone {time_zone!r}; expected an IANA name such as Asia/Tokyo")
        values: dict[str, object] = {"updated_at": self._clock()}
        if language is not None:
            values["language"] = language
        if time_zone is not None:
            values["time_zone"] = time_zone
        with self.engine.begin() as connection:
            changed = connection.execute(
                update(preferences_table).where(preferences_table.c.user_id == user_id).values(**values)
            ).rowcount
            if not changed:
                try:
                    connection.execute(preferences_table.insert().values(user_id=user_id, **values))
                except SqlIntegrityError:  # a concurrent first write: update it instead
                    connection.execute(
                        update(preferences_table)
                        .where(preferences_table.c.user_id == user_id)
                        .values(**values)
                    )
        return self.get(user_id)
