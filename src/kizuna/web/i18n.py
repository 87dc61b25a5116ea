"""Messages in English and Japanese: one catalog per language (`messages/en.json`, `messages/ja.json`),
keyed by meaning (`board.title`), never by English text.

Names of organizations and sites come from the data's `name_ja`; words of the law's vocabulary
(situations, activities, approvals) from the frameworks' `name_ja` where the data has one, else from the
catalog (`term.<id>`), else their English name.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Protocol

from kizuna.access import LANGUAGES

MESSAGES = Path(__file__).parent / "messages"
#: The language every catalog is checked against and missing entries fall back to.
DEFAULT_LANGUAGE = "en"


class Named(Protocol):
    """Anything with an English name and perhaps a Japanese one (organizations, sites, terms)."""

    @property
    def name(self) -> str:
        """The English name."""
        ...

    @property
    def name_ja(self) -> str | None:
        """The Japanese name, if the data has one."""
        ...


@lru_cache(maxsize=len(LANGUAGES))
def catalog(language: str) -> dict[str, str]:
    """Return the messages of a language, read once from its JSON file."""
    data: dict[str, str] = json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8"))
    return data


class Translator:
    """Looks messages up in one language, falling back to English for a key the language lacks."""

    def __init__(self, language: str) -> None:
        """Translate into `language` (one of LANGUAGES; anything else is English)."""
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._own = catalog(self.language)
        self._default = catalog(DEFAULT_LANGUAGE)

    def __call__(self, key: str, **values: object) -> str:
        """Return the message `key`, with `{name}` fields filled from `values`.

        Raises:
            KeyError: No catalog has the key (a template names a message that does not exist).
        """
        text = self._own.get(key)
        if text is None:
            text = self._default[key]
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        """Tell whether a message exists."""
        return key in self._own or key in self._default

    def name(self, thing: Named | None, fallback: str = "") -> str:
        """Return the name of an organization, site or term in this language."""
        if thing is None:
            return fallback
        if self.language == "ja" and thing.name_ja:
            return thing.name_ja
        return thing.name

    def term(self, word: str, thing: object | None = None) -> str:
        """Return a word of the law's vocabulary (a situation, activity, approval, ...) in this language."""
        name_ja = getattr(thing, "name_ja", None)  # approvals have no Japanese name in the data
        if self.language == "ja" and name_ja:
            return str(name_ja)
        key = f"term.{word}"
        if key in self._own:
            return self._own[key]
        name = getattr(thing, "name", None)
        if isinstance(name, str):
            return name
        return self._default.get(key, word)
