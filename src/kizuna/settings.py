"""Kizuna's runtime settings: one pydantic-settings class, read from `KIZUNA_*` environment variables.

Settings are built lazily by `get_settings()` (cached), never at import time, so tests can set the
environment and call `get_settings.cache_clear()`. Nothing here imports the rest of Kizuna.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The file name of the default SQLite database inside the data directory.
DEFAULT_DATABASE_FILE = "kizuna.db"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("kizuna", appauthor=False))


class Settings(BaseSettings):
    """Where the live system keeps its data and how it serves it.

    Every field reads from the environment variable `KIZUNA_<FIELD>` (for example
    `KIZUNA_DATABASE_URL=postgresql+psycopg://user@host/db`).
    """

    model_config = SettingsConfigDict(env_prefix="KIZUNA_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Directory for the default SQLite database and other local state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the event store; unset means a SQLite file in `data_dir`.",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description=(
            "SQLite `PRAGMA synchronous` in WAL mode. FULL survives a power loss; NORMAL survives a process "
            "crash only, but commits faster."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `kizuna serve` listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `kizuna serve` listens on.")
    session_ttl_minutes: int = Field(
        default=8 * 60, gt=0, description="Lifetime of a browser session after login."
    )
    real_egress: bool = Field(
        default=False,
        description="This server's exports and feeds go to real systems: they refuse exercise traffic "
        "(design.md, 'Contracts').",
    )
    cookie_secure: bool = Field(
        default=False, description="Mark session cookies Secure (set when served behind HTTPS)."
    )

    def resolved_database_url(self) -> str:
        """Return the database URL to use: `database_url`, or the default SQLite file in `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / DEFAULT_DATABASE_FILE}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Build the settings from the environment once and cache them (`get_settings.cache_clear()` resets)."""
    return Settings()
