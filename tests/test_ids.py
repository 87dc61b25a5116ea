"""Object ids: the form the routes accept, and no pool byte handed out twice (across refills and threads)."""

from __future__ import annotations

import re
import threading

from kizuna import ids
from kizuna.service.fastpath import _ID

ID = re.compile(_ID)


def test_an_id_is_a_prefix_and_ten_hex_digits_the_routes_accept() -> None:
    made = ids.new_id("r")
    assert re.fullmatch(r"r-[0-9a-f]{10}", made)
    assert ID.fullmatch(made)


def test_a_pool_hands_out_each_byte_once_across_refills() -> None:
    pool = ids._Pool()
    taken = [pool.take(ids.ID_BYTES) for _ in range(3 * ids.POOL_BYTES // ids.ID_BYTES)]
    # Consecutive takes are consecutive slices of one kernel read until a refill: no overlap, no gap.
    assert all(len(chunk) == ids.ID_BYTES for chunk in taken)
    assert len(set(taken)) == len(taken)  # 40-bit draws: a repeat among ~2,500 is a one-in-10^5 event


def test_ids_made_on_many_threads_are_distinct() -> None:
    made: list[list[str]] = [[] for _ in range(8)]

    def make(into: list[str]) -> None:
        into.extend(ids.new_id("t") for _ in range(1000))

    threads = [threading.Thread(target=make, args=(into,)) for into in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [one for into in made for one in into]
    assert len(set(every)) == len(every) == 8_000  # a chance repeat: about one in 30,000


def test_a_take_larger_than_the_pool_is_served_whole() -> None:
    assert len(ids._Pool().take(ids.POOL_BYTES + 7)) == ids.POOL_BYTES + 7
