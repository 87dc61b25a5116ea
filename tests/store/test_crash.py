"""Crash safety: SIGKILL writers in the middle of a burst; every acknowledged write survives, the chain
verifies, and the store takes writes again.

Two writer processes run at once, so the kill also lands while one of them waits for the write lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

from kizuna.store import NewEvent, open_store

WRITER = Path(__file__).with_name("crash_writer.py")


def _read_acks(process: subprocess.Popen[str], count: int) -> list[str]:
    assert process.stdout is not None
    keys = []
    for _ in range(count):
        line = process.stdout.readline()
        assert line, "the writer died before acknowledging enough writes"
        keys.append(line.split()[0])
    return keys


@pytest.mark.slow
def test_acknowledged_writes_survive_a_kill_9_mid_burst(
    store_url: str, check_durable: Callable[[str, Iterable[str]], None]
) -> None:
    with open_store(store_url, listen=False):
        pass  # migrate first, so the writers start writing at once
    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), store_url, name], stdout=subprocess.PIPE, text=True, bufsize=1
        )
        for name in ("alpha", "bravo")
    ]
    acknowledged: list[str] = []
    try:
        for writer in writers:
            acknowledged += _read_acks(writer, 25)
        for writer in writers:
            os.kill(writer.pid, signal.SIGKILL)
        for writer in writers:
            writer.wait(30)
            assert writer.stdout is not None
            # Lines already in the pipe were acknowledged before the kill: they count too.
            acknowledged += [line.split()[0] for line in writer.stdout.read().splitlines() if line.strip()]
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
                writer.wait(30)
    assert all(writer.returncode == -signal.SIGKILL for writer in writers)
    check_durable(store_url, acknowledged)
    with open_store(store_url, listen=False) as store:
        before = store.head().seq
        store.append("burst:after", [NewEvent("after.crash")])
        assert store.head().seq == before + 1
        assert store.verify().ok
