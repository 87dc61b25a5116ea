"""Security markings: classification levels, REL TO nations, no-foreign release, exercise traffic.

A marking says who may see an object. Its `rel_to` is, by construction, exactly the set of nations the
object may be released to: the owner nation is always in it, a NOFORN marking releases to the owner
only, and a joint marking (combined from objects of several owners, `owner=None`) releases to the
nations every part releases to. `combine()` gives a derived object the most restrictive marking of its
parts, so a marking never widens.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints, field_serializer, model_validator

from kizuna.errors import InvalidQuery, PermissionDenied

#: A nation as markings name it: an ISO 3166-1 alpha-3 code (`USA`, `JPN`), as in `Nation.code`.
NationCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Classification(StrEnum):
    """Classification levels, ordered: UNCLASSIFIED < CONFIDENTIAL < SECRET < TOP SECRET.

    Members compare by rank (`Classification.SECRET > Classification.CONFIDENTIAL`), not as strings.
    """

    UNCLASSIFIED = "unclassified"
    CONFIDENTIAL = "confidential"
    SECRET = "secret"  # noqa: S105 - a classification level, not a password
    TOP_SECRET = "top-secret"  # noqa: S105 - a classification level, not a password

    @property
    def rank(self) -> int:
        """Return the level's rank, 0 (unclassified) to 3 (top secret)."""
        return _RANKS[self]

    def display(self, nation: str | None = None) -> str:
        """Return the level's name as `nation` writes it (U.S. names by default).

        The Japanese names (秘, 極秘, 機密) follow the equivalence commonly given between Japan's defense
        secret levels and U.S. levels; this is an assumption, not a fact from the project's sources.
        """
        names = _DISPLAY.get(nation or "USA", _DISPLAY["USA"])
        return names[self]

    @staticmethod
    def _other(other: object) -> int:
        if isinstance(other, str):
            return Classification(other).rank
        raise TypeError(f"cannot compare a classification with {other!r}")

    def __lt__(self, other: str, /) -> bool:
        return self.rank < self._other(other)

    def __le__(self, other: str, /) -> bool:
        return self.rank <= self._other(other)

    def __gt__(self, other: str, /) -> bool:
        return self.rank > self._other(other)

    def __ge__(self, other: str, /) -> bool:
        return self.rank >= self._other(other)


_RANKS = {level: rank for rank, level in enumerate(Classification)}
_DISPLAY: dict[str, dict[Classification, str]] = {
    "USA": {
        Classification.UNCLASSIFIED: "UNCLASSIFIED",
        Classification.CONFIDENTIAL: "CONFIDENTIAL",
        Classification.SECRET: "SECRET",
        Classification.TOP_SECRET: "TOP SECRET",
    },
    "JPN": {
        Classification.UNCLASSIFIED: "指定なし",
        Classification.CONFIDENTIAL: "秘",
        Classification.SECRET: "極秘",
        Classification.TOP_SECRET: "機密",
    },
}


class Marking(BaseModel):
    """The marking every object carries.

    Attributes:
        level: The classification level.
        rel_to: The nations the object may be released to. The owner is added when missing; a NOFORN
            marking with an owner releases to the owner alone.
        noforn: No foreign release: only the owner nation may see it (for a joint marking, a flag that
            one part was NOFORN, already folded into `rel_to`).
        owner: The nation that originated the object, or None for a joint object of several owners.
        exercise: The object is exercise traffic, never real-world.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Classification
    rel_to: frozenset[NationCode] = frozenset()
    noforn: bool = False
    owner: NationCode | None = None
    exercise: bool = False

    @model_validator(mode="before")
    @classmethod
    def _release_to_owner(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("owner"):
            owner = data["owner"]
            rel_to = frozenset(data.get("rel_to") or ())
            if data.get("noforn") and rel_to - {owner}:
                others = sorted(rel_to - {owner})
                raise ValueError(f"a NOFORN marking is released to its owner {owner} only, not to {others}")
            data = {**data, "rel_to": rel_to | {owner}}
        return data

    @model_validator(mode="after")
    def _joint_noforn(self) -> Marking:
        if self.owner is None and self.noforn and len(self.rel_to) > 1:
            raise ValueError("a joint NOFORN marking releases to one nation at most")
        return self

    @field_serializer("rel_to")
    def _sorted(self, rel_to: frozenset[str]) -> list[str]:
        return sorted(rel_to)

    @classmethod
    def national(cls, level: Classification, owner: str, *, exercise: bool = False) -> Marking:
        """Return a NOFORN marking: `owner`'s eyes only."""
        return cls(level=level, owner=owner, noforn=True, exercise=exercise)

    @classmethod
    def releasable(
        cls, level: Classification, owner: str, rel_to: Iterable[str], *, exercise: bool = False
    ) -> Marking:
        """Return a marking of `owner` releasable to the nations in `rel_to`."""
        return cls(level=level, owner=owner, rel_to=frozenset(rel_to), exercise=exercise)

    @classmethod
    def from_json(cls, data: Any) -> Marking:
        """Read a marking from its JSON form (as stored with events).

        Raises:
            InvalidQuery: The data is not a valid marking.
        """
        from pydantic import ValidationError

        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidQuery(f"invalid marking {data!r}: {error}") from error

    def to_json(self) -> dict[str, Any]:
        """Return the marking as a JSON object with `rel_to` sorted (a stable, hashable form)."""
        return self.model_dump(mode="json")

    def banner(self, nation: str | None = None) -> str:
        """Return the banner line, e.g. `EXERCISE//SECRET//REL TO USA, JPN` or `SECRET//NOFORN`."""
        parts = ["EXERCISE"] if self.exercise else []
        parts.append(self.level.display(nation))
        if self.noforn and self.owner is not None:
            parts.append("NOFORN")
        elif self.rel_to:
            first = [self.owner] if self.owner else []
            rest = sorted(self.rel_to - set(first))
            parts.append("REL TO " + ", ".join([*first, *rest]))
        else:
            parts.append("NO RELEASE")
        return "//".join(parts)

    def at_least_as_restrictive_as(self, other: Marking) -> bool:
        """Tell whether nobody may see this marking who may not see `other`.

        Exercise and real traffic are two worlds, not two levels (exercise control sees only the
        first), so markings of different worlds are never comparable.
        """
        return (
            self.level >= other.level
            and self.rel_to <= other.rel_to
            and (self.noforn or not other.noforn)
            and self.exercise == other.exercise
        )


def filed_into(marking: Marking, container: Marking) -> Marking:
    """Return the marking of an object filed into a container (a crisis): in the container's world.

    Whatever is filed into an exercise is exercise traffic, whether or not its filer said so; an object
    marked as exercise traffic cannot be filed into a real crisis.

    Raises:
        InvalidQuery: An exercise marking was given for a real container.
    """
    if marking.exercise and not container.exercise:
        raise InvalidQuery(
            "an exercise marking cannot be filed into a real crisis: exercise traffic never mixes"
        )
    return (
        marking if marking.exercise == container.exercise else marking.model_copy(update={"exercise": True})
    )


def combine(*markings: Marking) -> Marking:
    """Return the marking of an object derived from parts with these markings: the most restrictive.

    The highest level; release only to nations every part releases to; NOFORN if any part is; the
    owner if all parts share one, else a joint marking (owner None). Exercise and real traffic never
    mix, so every part must be of one world.

    Raises:
        InvalidQuery: No markings were given, or exercise and real parts were mixed.
    """
    if not markings:
        raise InvalidQuery("combine() needs at least one marking")
    if len({m.exercise for m in markings}) > 1:
        raise InvalidQuery("combine() was given exercise and real parts: exercise traffic never mixes")
    owners = {m.owner for m in markings}
    owner = owners.pop() if len(owners) == 1 else None
    rel_to = frozenset.intersection(*(m.rel_to for m in markings))
    noforn = any(m.noforn for m in markings)
    return Marking(
        level=max((m.level for m in markings), key=lambda level: level.rank),
        rel_to=rel_to,
        noforn=noforn,
        owner=owner,
        exercise=markings[0].exercise,
    )


class Feed(StrEnum):
    """What an outside feed or export is connected to: real systems, or an exercise network."""

    REAL = "real"
    EXERCISE = "exercise"


def check_feed(feed: Feed, marking: Marking, what: str = "object") -> None:
    """Refuse exercise traffic on a feed configured as real (design.md: it can never be emitted there).

    Raises:
        PermissionDenied: `feed` is real and the marking is an exercise marking.
    """
    if feed is Feed.REAL and marking.exercise:
        raise PermissionDenied(
            f"{what} is exercise traffic ({marking.banner()}); a feed configured as real never carries it"
        )
