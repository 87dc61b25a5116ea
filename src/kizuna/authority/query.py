"""The question users ask: may this actor do this activity, here, in these designations, with what granted?

A Query holds plain ids; they are checked against the loaded frameworks when the query is ruled on (an
unknown id raises `UnknownId` naming it and listing the known ones, never a silent prohibition), or
earlier, when a query is built from a dict with `Query.from_dict(data, frameworks)`.

No field has a default that decides the law. The designations in force, the actor and the activity are
always required. `supported` and `location` may be left out (None): the ruling is then given only if it
is the same whatever their value; otherwise ruling raises `MissingFact` asking for them. Flags are the
facts the query asserts: a flag that is not given is asserted not to hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kizuna.errors import InvalidQuery, MissingFact

if TYPE_CHECKING:
    from kizuna.authority.frameworks import FrameworkSet

#: Query fields that hold one id and must be given.
REQUIRED = ("actor", "activity")
#: Query fields that hold one id and may be left out when the ruling does not depend on them.
OPTIONAL = ("supported", "location")
#: Query fields that hold a set of ids.
SETS = ("flags", "granted")
#: The fields of a query's JSON form (`situation` is accepted for `situations`).
FIELDS = ("situations", *REQUIRED, *OPTIONAL, *SETS)
_INPUT_FIELDS = ("situation", *FIELDS)


def _ids(name: str, value: object) -> frozenset[str]:
    """Return `value` (an id or a collection of ids) as a frozenset, or raise InvalidQuery."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, frozenset) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        items = list(value)
        if all(isinstance(v, str) for v in items):
            return frozenset(items)
    raise InvalidQuery(f"query field {name!r} must be an id or a list of ids, got {value!r}")


@dataclass(frozen=True, slots=True, init=False)
class Query:
    """One authority question.

    Attributes:
        situations: the designations in force (one or several: a crisis can be a survival-threatening
            and an armed attack situation at once). The ruling is on their union: the act is lawful if
            it is lawful under any of them, with that designation's approvals.
        actor: who acts (`jsdf`, `msdf`, `jcg`, `us-forces`, ...).
        activity: what they would do (`use-of-force`, `supply`, ...).
        supported: whose forces the act supports or protects, or what a missile threatens; None when
            not stated (allowed only where the ruling does not depend on it).
        location: where the act takes place; None when not stated (as for `supported`).
        flags: facts about the context that hold (`combat-ongoing`, `urgent`, ...); any other is
            asserted not to hold.
        granted: approvals already obtained.

    Build it with `situation=` (an id or several) or `situations=`:
    `Query("armed-attack", "jsdf", "use-of-force")`,
    `Query(situations={"armed-attack", "survival-threatening"}, actor="msdf", activity="bmd-intercept",
    supported="us-forces")`.
    """

    situations: frozenset[str]
    actor: str
    activity: str
    supported: str | None
    location: str | None
    flags: frozenset[str]
    granted: frozenset[str]
    #: The designations in a fixed order (sorted), for iteration; not part of equality.
    ordered: tuple[str, ...] = field(compare=False, repr=False)
    #: The designation when there is exactly one, else None (the evaluators' fast path).
    single: str | None = field(compare=False, repr=False)

    def __init__(
        self,
        situation: str | Iterable[str] | None = None,
        actor: str | None = None,
        activity: str | None = None,
        *,
        supported: str | None = None,
        location: str | None = None,
        flags: Iterable[str] = frozenset(),
        granted: Iterable[str] = frozenset(),
        situations: Iterable[str] | None = None,
    ) -> None:
        """Check the fields' types and presence; ids are checked against frameworks when ruling.

        Raises:
            MissingFact: the designations, the actor or the activity are not given.
            InvalidQuery: a field has the wrong type, or both `situation` and `situations` are given.
        """
        if situation is not None and situations is not None:
            raise InvalidQuery("give the designations in force as `situation` or `situations`, not both")
        given = situations if situations is not None else situation
        sits = frozenset() if given is None else _ids("situations", given)
        missing = [
            name
            for name, value in (("situations", sits or None), ("actor", actor), ("activity", activity))
            if value is None
        ]
        if missing:
            raise MissingFact(missing)
        for name, value in (("actor", actor), ("activity", activity)):
            if not isinstance(value, str) or not value:
                raise InvalidQuery(f"query field {name!r} must be an id (a string), got {value!r}")
        for name, value in (("supported", supported), ("location", location)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidQuery(
                    f"query field {name!r} must be an id (a string) or left out, got {value!r}"
                )
        setter = object.__setattr__
        setter(self, "situations", sits)
        setter(self, "actor", actor)
        setter(self, "activity", activity)
        setter(self, "supported", supported)
        setter(self, "location", location)
        setter(self, "flags", _ids("flags", flags))
        setter(self, "granted", _ids("granted", granted))
        setter(self, "ordered", tuple(sorted(sits)))
        setter(self, "single", next(iter(sits)) if len(sits) == 1 else None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], frameworks: FrameworkSet | None = None) -> Query:
        """Build a query from a mapping (parsed JSON), checking fields and, given frameworks, every id.

        `situation` (an id or a list) and `situations` (a list) both name the designations in force.

        Raises:
            MissingFact: the designations, the actor or the activity are not given.
            InvalidQuery: a field is unknown or of the wrong type (the message lists the fields).
            UnknownId: an id is not in the frameworks' vocabulary (names it and the known ones).
        """
        if not isinstance(data, Mapping):
            raise InvalidQuery(f"a query is a JSON object with fields {', '.join(FIELDS)}; got {data!r}")
        unknown = [k for k in data if k not in _INPUT_FIELDS]
        if unknown:
            raise InvalidQuery(f"unknown query field {unknown[0]!r}; valid fields: {', '.join(FIELDS)}")
        for name in (*REQUIRED, *OPTIONAL):
            value = data.get(name)
            if value is not None and not isinstance(value, str):
                raise InvalidQuery(f"query field {name!r} must be an id (a string), got {value!r}")
        for name in ("situation", "situations", *SETS):
            value = data.get(name)
            if value is not None and not isinstance(value, str | list | tuple | set | frozenset):
                raise InvalidQuery(f"query field {name!r} must be an id or a list of ids, got {value!r}")
        query = cls(
            data.get("situation"),
            data.get("actor"),
            data.get("activity"),
            supported=data.get("supported"),
            location=data.get("location"),
            flags=data.get("flags") or (),
            granted=data.get("granted") or (),
            situations=data.get("situations"),
        )
        if frameworks is not None:
            frameworks.validate(query)
        return query

    def to_dict(self) -> dict[str, Any]:
        """Return the query as plain JSON-ready data (sets as sorted lists; facts left out as null)."""
        return {
            "situations": list(self.ordered),
            "actor": self.actor,
            "activity": self.activity,
            "supported": self.supported,
            "location": self.location,
            "flags": sorted(self.flags),
            "granted": sorted(self.granted),
        }

    def replace(self, **changes: Any) -> Query:
        """Return a copy with some fields changed (`situation` or `situations` for the designations)."""
        data: dict[str, Any] = {
            "situations": self.situations,
            "actor": self.actor,
            "activity": self.activity,
            "supported": self.supported,
            "location": self.location,
            "flags": self.flags,
            "granted": self.granted,
        }
        if "situation" in changes:
            changes["situations"] = changes.pop("situation")
        data.update(changes)
        return Query(**data)
