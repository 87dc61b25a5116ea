"""Each user's own numbering of the events they may see: 1, 2, 3, ... in log order, without gaps.

The log's sequence numbers count every event, hidden ones included: a user handed them would learn from
the gaps how many events they may not see and when those were written. The API therefore numbers, for
each user, only the events that user may see; that number is the `seq` of event pages, the `id` of
stream messages, and what `after` and `Last-Event-ID` name. It is a function of the log and the user's
visibility alone, so every worker, and every restart, gives the same numbers, and users who may see the
same events share them (they learn nothing from comparing).

The numbers are computed from the live view's index of sequence numbers by marking (`LiveView.marked`):
the user's events up to log position S are, summed over the markings the user may see, those carrying
that marking at or before S. With M distinct markings a conversion costs O(M log n) (a position to a
log position: O(M log² n)); the stream counts forward from there at no cost per message.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Sequence

from kizuna.access import User
from kizuna.coordination import LiveView
from kizuna.service.egress import releasable


class Numbering:
    """How the events a user may see are numbered, as of the view's state when it was made."""

    __slots__ = ("_lists",)

    def __init__(self, view: LiveView, user: User) -> None:
        """Take the view's index for the markings `user` may see."""
        # list() of the items is one C-level copy, safe while another thread adds a marking.
        self._lists: Sequence[array[int]] = [
            seqs for marking, seqs in list(view.marked.items()) if releasable(user, marking)
        ]

    def position(self, seq: int) -> int:
        """Return how many of the user's events are at or before log position `seq`."""
        return sum(bisect_right(seqs, seq) for seqs in self._lists)

    def seq_of(self, position: int) -> int | None:
        """Return the log position of the user's `position`-th event (0 for 0); None if not there yet."""
        if position <= 0:
            return 0
        bounds = [(seqs, len(seqs)) for seqs in self._lists if seqs]  # fixed while the index grows
        if position > sum(length for _, length in bounds):
            return None
        low, high = 1, max(seqs[length - 1] for seqs, length in bounds)
        while low < high:  # the smallest seq with `position` of the user's events at or before it
            middle = (low + high) // 2
            if sum(bisect_right(seqs, middle, 0, length) for seqs, length in bounds) >= position:
                high = middle
            else:
                low = middle + 1
        return low
