"""The question users ask: may this actor do this activity, here, in this situation, with what granted?

A Query holds plain ids; they are checked against the loaded frameworks when the query is ruled on (an
unknown id raises `UnknownId` naming it and listing the known ones, never a silent prohibition), or
earlier, when a query is built from a dict with `Query.from_dict(data, frameworks)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kizuna.errors import InvalidQuery

if TYPE_CHECKING:
    from kizuna.authority.frameworks import FrameworkSet

#: Query fields that hold one id, with their defaults (None: required).
SINGLE: dict[str, str | None] = {
    "situation": None,
    "actor": None,
    "activity": None,
    "supported": "none",
    "location": "japan-territory",
}
#: Query fields that hold a set of ids.
SETS = ("flags", "granted")
FIELDS = (*SINGLE, *SETS)


def _as_frozenset(value: Iterable[str] | str) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset({value})
    return value if isinstance(value, frozenset) else frozenset(value)


@dataclass(frozen=True, slots=True)
class Query:
    """One authority question.

    Attributes:
        situation: the situation in force (e.g. `armed-attack`).
        actor: who acts (`jsdf`, `msdf`, `jcg`, `us-forces`, ...).
        activity: what they would do (`use-of-force`, `supply`, ...).
        supported: whose forces the act supports or protects, or what a missile threatens (`none`).
        location: where the act takes place (`japan-territory`).
        flags: facts about the context (`combat-ongoing`, `urgent`, ...).
        granted: approvals already obtained.
    """

    situation: str
    actor: str
    activity: str
    supported: str = "none"
    location: str = "japan-territory"
    flags: frozenset[str] = field(default_factory=frozenset)
    granted: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name in SINGLE:
            if not isinstance(getattr(self, name), str):
                raise InvalidQuery(
                    f"query field {name!r} must be an id (a string), got {getattr(self, name)!r}"
                )
        for name in SETS:
            value = getattr(self, name)
            if not isinstance(value, frozenset):
                if not isinstance(value, Iterable) or any(not isinstance(v, str) for v in value):
                    raise InvalidQuery(f"query field {name!r} must be a list of ids, got {value!r}")
                object.__setattr__(self, name, _as_frozenset(value))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], frameworks: FrameworkSet | None = None) -> Query:
        """Build a query from a mapping (parsed JSON), checking fields and, given frameworks, every id.

        Raises:
            InvalidQuery: a field is unknown, missing or of the wrong type (the message lists the fields).
            UnknownId: an id is not in the frameworks' vocabulary (names it and the known ones).
        """
        if not isinstance(data, Mapping):
            raise InvalidQuery(f"a query is a JSON object with fields {', '.join(FIELDS)}; got {data!r}")
        unknown = [k for k in data if k not in FIELDS]
        if unknown:
            raise InvalidQuery(f"unknown query field {unknown[0]!r}; valid fields: {', '.join(FIELDS)}")
        values: dict[str, Any] = {}
        for name, default in SINGLE.items():
            value = data.get(name, default)
            if value is None:
                raise InvalidQuery(f"query field {name!r} is required; valid fields: {', '.join(FIELDS)}")
            if not isinstance(value, str):
                raise InvalidQuery(f"query field {name!r} must be an id (a string), got {value!r}")
            values[name] = value
        for name in SETS:
            value = data.get(name, ())
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list | tuple | set | frozenset) or any(
                not isinstance(v, str) for v in value
            ):
                raise InvalidQuery(f"query field {name!r} must be a list of ids, got {value!r}")
            values[name] = frozenset(value)
        query = cls(**values)
        if frameworks is not None:
            frameworks.validate(query)
        return query

    def to_dict(self) -> dict[str, Any]:
        """Return the query as plain JSON-ready data (sets as sorted lists)."""
        return {
            "situation": self.situation,
            "actor": self.actor,
            "activity": self.activity,
            "supported": self.supported,
            "location": self.location,
            "flags": sorted(self.flags),
            "granted": sorted(self.granted),
        }

    def replace(self, **changes: Any) -> Query:
        """Return a copy with some fields changed."""
        data: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        data.update(changes)
        return Query(**data)
