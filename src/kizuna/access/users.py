"""Users, their roles and clearances, and the one rule for who may see a marked object."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from kizuna.access.marking import Classification, Marking, NationCode
from kizuna.model.ids import Ident

T = TypeVar("T")


class Role(StrEnum):
    """What a user does in the live system."""

    OPERATOR = "operator"  # files requests, coordinates, consults, orders, reports execution
    APPROVER = "approver"  # everything an operator does, and approves or denies
    OBSERVER = "observer"  # reads only
    EXERCISE_CONTROL = "exercise-control"  # injects exercise events and drives exercise time
    ADMIN = "admin"  # manages users and tokens
    DISCLOSURE_OFFICER = "disclosure-officer"  # decides releases of the nation's information to others

    @property
    def can_write(self) -> bool:
        """Tell whether the role may change anything (every role but observer)."""
        return self is not Role.OBSERVER

    @property
    def can_approve(self) -> bool:
        """Tell whether the role may approve or deny a step."""
        return self is Role.APPROVER


class User(BaseModel):
    """A person who uses the live system.

    Attributes:
        id: The login name (kebab-case).
        name: The full name.
        nation: The user's nation as markings name it (`USA`, `JPN`).
        organization: The organization the user is a member of (an id of the structure).
        role: What the user does.
        clearance: The highest level the user may see.
        active: Whether the user may log in.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident
    name: str = Field(min_length=1, max_length=200)
    nation: NationCode
    organization: Ident
    role: Role
    clearance: Classification
    active: bool = True


def can_see(user: User, marking: Marking) -> bool:
    """Tell whether `user` may see an object marked `marking`.

    The user must be active, cleared to the marking's level, and of a nation the object is released to
    (its owner, a REL TO nation; for NOFORN, the owner only). Exercise control runs exercises and has
    no business with the real world: it sees exercise traffic only, so a real crisis and everything in
    it does not exist for it (docs/service.md, 'Exercise control').
    """
    return (
        user.active
        and user.clearance >= marking.level
        and user.nation in marking.rel_to
        and (marking.exercise or user.role is not Role.EXERCISE_CONTROL)
    )


def visible(user: User, items: Iterable[T], marking_of: Callable[[T], Marking]) -> list[T]:
    """Return the items `user` may see, in order: the filter every list, stream and export applies."""
    return [item for item in items if can_see(user, marking_of(item))]
