"""Subscribers wake when the log grows: in-process on both back ends, and across processes on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from kizuna.store import NewEvent, Notifier, open_store


def test_a_subscriber_hears_each_append_with_the_new_head(store_url: str) -> None:
    heard: list[int] = []
    with open_store(store_url) as store:
        unsubscribe = store.subscribe(heard.append)
        store.append("crisis:c1", [NewEvent("a"), NewEvent("b")])
        store.append("crisis:c1", [NewEvent("c")])
        unsubscribe()
        store.append("crisis:c1", [NewEvent("d")])
    assert heard == [2, 3]


def test_wait_for_returns_when_an_append_passes_the_mark(store_url: str) -> None:
    with open_store(store_url) as store:
        assert store.wait_for(0, timeout=0.05) == 0  # nothing yet: times out with the current head
        timer = threading.Timer(0.1, lambda: store.append("crisis:c1", [NewEvent("a")]))
        timer.start()
        assert store.wait_for(0, timeout=30) == 1
        timer.join()


def test_a_failing_subscriber_does_not_break_the_writer(store_url: str) -> None:
    def broken(_seq: int) -> None:
        raise RuntimeError("subscriber bug")

    with open_store(store_url) as store:
        store.subscribe(broken)
        assert store.append("crisis:c1", [NewEvent("a")])[0].seq == 1


def test_old_and_repeated_announcements_are_ignored() -> None:
    notifier = Notifier()
    heard: list[int] = []
    notifier.subscribe(heard.append)
    for seq in (3, 3, 2, 5):
        notifier.publish(seq)
    assert heard == [3, 5]
    assert notifier.head == 5


@pytest.mark.postgres
def test_postgresql_wakes_subscribers_of_another_process(postgres_url: str) -> None:
    """An append in another process reaches this one through LISTEN/NOTIFY (design.md, Scale)."""
    with open_store(postgres_url) as store:
        code = (
            "import sys\n"
            "from kizuna.store import NewEvent, open_store\n"
            "with open_store(sys.argv[1], listen=False) as s:\n"
            "    s.append('crisis:remote', [NewEvent('crisis.opened')])\n"
        )
        subprocess.run([sys.executable, "-c", code, postgres_url], check=True, timeout=60)
        assert store.wait_for(0, timeout=30) == 1
        assert store.read_all()[0].stream == "crisis:remote"
