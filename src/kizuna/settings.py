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
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body the service reads; larger ones answer 413 before parsing.",
    )
    token_ttl_days: int = Field(
        default=90, ge=1, le=3650, description="Lifetime of an API token unless it is issued with its own."
    )
    filer_excluded_steps: frozenset[str] = Field(
        default=frozenset({"approve"}),
        description="Kinds of step (approve, consult, ...) the user who filed a request may not act on "
        '(separation of duties); a JSON list, e.g. \'["approve", "consult"]\'.',
    )
    login_account_failures: int = Field(
        default=5, ge=1, description="Failed logins per account before each further one is delayed."
    )
    login_address_failures: int = Field(
        default=20, ge=1, description="Failed logins per client address before each further is delayed."
    )
    login_backoff_s: float = Field(
        default=1.0, gt=0, description="The first delay after the free failures; it doubles per failure."
    )
    login_backoff_max_s: float = Field(
        default=900.0, gt=0, description="The longest delay between logins after failures."
    )
    login_concurrency: int | None = Field(
        default=None,
        ge=1,
        description="Password checks (argon2) run at once; default the number of cores.",
    )
    serve_tampered_log: bool = Field(
        default=False,
        description=(
            "Serve even if the event chain does not verify at start (with a loud warning). Off: the "
            "service refuses to start on a tampered log."
        ),
    )
    expect_head: str | None = Field(
        default=None,
        description=(
            "A chain head hash recorded elsewhere (`kizuna db info`); the service refuses to start "
            "unless the log holds it (it may have grown since)."
        ),
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
