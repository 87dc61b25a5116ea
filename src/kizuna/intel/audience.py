"""Releasability audiences: the set of nations (and the clearance) a fused picture is computed for.

A fused estimate carries the information of every input, so a picture may be shown only to readers who
may see every input in it (design.md, 'Contracts'). An audience is a set of nations at a clearance: it
sees an input when every one of its nations may see the input's marking at that clearance. A user's
audience is their own nation at their clearance; a feed shared by several nations (a combined TAK
server) has the audience of all of them. Audiences are never listed by hand: `audiences_of()` derives
them from the markings present.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, field_serializer

from kizuna.access import Classification, Marking, NationCode, User
from kizuna.errors import InvalidQuery


class Audience(BaseModel):
    """Nations that must all be able to see an input, at a clearance.

    Attributes:
        nations: The readers' nations (at least one).
        clearance: The readers' clearance.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    nations: frozenset[NationCode]
    clearance: Classification

    @field_serializer("nations")
    def _sorted(self, nations: frozenset[str]) -> list[str]:
        return sorted(nations)

    @classmethod
    def of(cls, user: User) -> Audience:
        """Return a user's audience: their nation at their clearance."""
        return cls(nations=frozenset({user.nation}), clearance=user.clearance)

    @classmethod
    def parse(cls, text: str) -> Audience:
        """Read `USA,JPN@secret` (clearance defaults to secret).

        Raises:
            InvalidQuery: The text names no nation or an unknown level.
        """
        nations_text, _, level = text.partition("@")
        nations = frozenset(n.strip().upper() for n in nations_text.split(",") if n.strip())
        if not nations:
            raise InvalidQuery(f"an audience names at least one nation, e.g. USA,JPN@secret; got {text!r}")
        try:
            return cls(nations=nations, clearance=Classification(level.strip() or "secret"))
        except ValueError as error:
            raise InvalidQuery(f"invalid audience {text!r}: {error}") from error

    def sees(self, marking: Marking) -> bool:
        """Tell whether every nation of the audience may see `marking` at its clearance."""
        return self.clearance >= marking.level and self.nations <= marking.rel_to

    def admits(self, user: User) -> bool:
        """Tell whether the user may read this audience's picture (everything in it is visible to them)."""
        return user.active and user.clearance >= self.clearance and user.nation in self.nations

    @property
    def key(self) -> str:
        """Return a stable text form, e.g. `JPN,USA@secret`."""
        return f"{','.join(sorted(self.nations))}@{self.clearance.value}"

    def __str__(self) -> str:
        return self.key


def audiences_of(markings: Iterable[Marking]) -> list[Audience]:
    """Derive the audiences that the markings present call for, without duplicates.

    Each marking's release list is an audience (the readers it was written for: U.S.-only for a U.S.
    NOFORN marking, USA and JPN for REL TO USA, JPN), and each nation it names is one (every user
    reads as one nation), at the highest level present among the markings. Audiences that would see
    exactly the same inputs are merged; the result is ordered by size, then by key.
    """
    present = list(dict.fromkeys(markings))
    if not present:
        return []
    level = max((m.level for m in present), key=lambda lv: lv.rank)
    candidates: dict[frozenset[str], Audience] = {}
    for marking in present:
        groups = [marking.rel_to, *(frozenset({n}) for n in marking.rel_to)]
        for nations in groups:
            if nations:
                candidates.setdefault(nations, Audience(nations=nations, clearance=level))
    seen: dict[frozenset[int], Audience] = {}
    for audience in sorted(candidates.values(), key=lambda a: (len(a.nations), a.key)):
        signature = frozenset(i for i, m in enumerate(present) if audience.sees(m))
        if signature:
            seen.setdefault(signature, audience)
    return sorted(seen.values(), key=lambda a: (len(a.nations), a.key))
