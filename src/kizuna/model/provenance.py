"""Provenance: every fact in the data says where it comes from (`source`) or that it is a guess.

A source reference is `KEY [locator]`, where KEY is defined in the file's `sources:` table or in the sources
catalog shipped with the package (`kizuna/data/sources.yaml`, see `kizuna.model.sources`) and the locator
narrows it (a section, figure or article), or a URL.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Provenanced(BaseModel):
    """Base of every data entity that states a fact: it carries `source:` or `assumption:` (or both)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    source: tuple[str, ...] = Field(
        default=(),
        description="Where the fact comes from: 'KEY [locator]' with KEY in `sources:`, or a URL. "
        "A string or a list of strings.",
    )
    assumption: str | None = Field(
        default=None, description="Why this is assumed, where no source states it."
    )

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator("source")
    @classmethod
    def _non_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ref in value:
            if not ref.strip():
                raise ValueError("a source reference may not be blank")
        return value

    @model_validator(mode="after")
    def _has_provenance(self) -> Provenanced:
        if not self.source and not self.assumption:
            raise ValueError("a fact needs `source:` (a key of `sources:` or a URL) or `assumption:`")
        return self


def source_key(reference: str) -> str:
    """Return the key part of a source reference ('DOJ24 Fig II-4-2-5' -> 'DOJ24')."""
    return reference.split(maxsplit=1)[0] if reference.strip() else reference


def is_url(reference: str) -> bool:
    """Tell whether a source reference is a URL rather than a key."""
    return reference.startswith(("http://", "https://"))
