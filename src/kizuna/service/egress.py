"""The server's egress: the one place where what leaves the service is filtered by marking.

Every list, read, stream message and export passes through `release` or `release_one`, which keep what
`kizuna.access.can_see` allows the user to see and nothing else. An object the user may not see is
answered exactly like one that does not exist (NotFound), so its existence does not leak either.
What leaves for an outside system (an export, a feed) also passes `release_to_feed`: a feed configured
as real refuses exercise traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from kizuna.access import Feed, Marking, User, can_see, check_feed
from kizuna.errors import NotFound


class Marked(Protocol):
    """Anything that carries a marking."""

    @property
    def marking(self) -> Marking:
        """The object's marking."""
        ...


M = TypeVar("M", bound=Marked)


def releasable(user: User, marking: Marking) -> bool:
    """Tell whether something marked `marking` may leave the server for `user`."""
    return can_see(user, marking)


def release(user: User, items: Iterable[M]) -> list[M]:
    """Return the items the user may see, in order."""
    return [item for item in items if can_see(user, item.marking)]


def release_one(user: User, item: M | None, kind: str, object_id: str) -> M:
    """Return the item if the user may see it; otherwise raise NotFound, as for a missing id."""
    if item is None or not can_see(user, item.marking):
        raise NotFound(f"no {kind} {object_id!r}")
    return item


def release_to_feed(feed: Feed, items: Iterable[M], kind: str = "object") -> list[M]:
    """Return the items for an outside feed or export; a real feed refuses the lot if any is exercise traffic.

    Raises:
        PermissionDenied: the feed is real and an item carries an exercise marking (nothing is sent).
    """
    out = list(items)
    for item in out:
        check_feed(feed, item.marking, kind)
    return out
