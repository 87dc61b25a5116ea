"""Frozen models whose cached properties (indexes such as `request_by_id`) stay true on a changed copy."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Self

from pydantic import BaseModel


class Recomputed(BaseModel):
    """A model whose `cached_property` values are dropped from a copy made with changes.

    `model_copy(update=...)` copies the instance's `__dict__`, where `functools.cached_property` keeps
    what it computed: without this, a copy with other requests would still answer `request_by_id` from
    the original's requests.
    """

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the model (see pydantic); with `update`, cached properties are computed afresh."""
        copied = super().model_copy(update=update, deep=deep)
        if update:
            for klass in type(self).__mro__:
                for name, value in vars(klass).items():
                    if isinstance(value, cached_property):
                        copied.__dict__.pop(name, None)
        return copied
