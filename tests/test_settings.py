"""Settings come from KIZUNA_* variables, lazily, with a SQLite file in the data directory by default."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from kizuna.settings import Settings, get_settings


def test_the_default_database_is_a_sqlite_file_in_the_data_directory(tmp_path: Path) -> None:
    settings = get_settings()
    assert settings.database_url is None
    assert settings.resolved_database_url() == f"sqlite:///{settings.data_dir / 'kizuna.db'}"
    assert settings.sqlite_synchronous == "FULL"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_environment_variables_override_and_the_cache_can_be_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first  # built once
    monkeypatch.setenv("KIZUNA_DATABASE_URL", "postgresql+psycopg://kizuna@db.example/kizuna")
    monkeypatch.setenv("KIZUNA_PORT", "8443")
    assert get_settings() is first  # still cached
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.resolved_database_url() == "postgresql+psycopg://kizuna@db.example/kizuna"
    assert settings.port == 8443


@pytest.mark.parametrize(("name", "value"), [("KIZUNA_PORT", "eighty"), ("KIZUNA_SQLITE_SYNCHRONOUS", "OFF")])
def test_invalid_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("KIZUNA_").lower()):
        Settings()
