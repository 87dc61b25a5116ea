"""kill -9 the server in a burst of writes, restart it: every acknowledged write is there, the chain verifies.

`kizuna serve --demo` runs in a subprocess on a SQLite file (with the default synchronous=FULL); client
threads file situation reports with idempotency keys as fast as it answers; once a hundred are
acknowledged the server gets SIGKILL while requests are still in flight. Every acknowledged key must be
in the log, the log must verify, and the restarted server must show every acknowledged report.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from kizuna.service.benchmark import wait_until_serving
from kizuna.service.demo import CRISIS, DEMO_PASSWORD
from kizuna.store.pgserver import free_port

KIZUNA = str(Path(sys.executable).parent / "kizuna")


@contextmanager
def running(url: str, port: int, *, demo: bool, data_dir: Path) -> Iterator[subprocess.Popen[bytes]]:
    args = [KIZUNA, "serve", "--url", url, "--port", str(port), *(["--demo"] if demo else [])]
    env = {**os.environ, "KIZUNA_DATA_DIR": str(data_dir)}
    log = data_dir / f"serve-{port}-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:  # a file, not a pipe nobody reads while the server runs
        process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=sink)
    try:
        # Until it answers, however long a start takes on a busy machine; a server that exits is
        # noticed at once, and either failure ends with the server's log.
        wait_until_serving(process, f"http://127.0.0.1:{port}", log=log)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(30)


def _token(base: str) -> str:
    with httpx.Client(base_url=base) as http:
        login = http.post("/api/auth/login", json={"username": "us-operator", "password": DEMO_PASSWORD})
        csrf = login.json()["csrf_token"]
        return str(
            http.post("/api/auth/tokens", json={"name": "crash"}, headers={"X-CSRF-Token": csrf}).json()[
                "token"
            ]
        )


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(
    tmp_path: Path, check_durable: Callable[[str, Iterable[str]], None]
) -> None:
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    acknowledged: dict[str, str] = {}  # idempotency key -> report id
    lock = threading.Lock()
    stop = threading.Event()
    with running(url, port, demo=True, data_dir=tmp_path) as server:
        headers = {"Authorization": f"Bearer {_token(base)}"}

        def writer(number: int) -> None:
            with httpx.Client(base_url=base, headers=headers, timeout=5) as http:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    key = f"crash-{number}-{i}"
                    body = {
                        "title": f"report {key}",
                        "refs": [],
                        "marking": {"level": "unclassified", "owner": "USA", "rel_to": ["JPN"]},
                    }
                    try:
                        response = http.post(
                            f"/api/crises/{CRISIS}/sitreps", json=body, headers={"Idempotency-Key": key}
                        )
                    except httpx.TransportError:
                        return  # the server is gone: this write was never acknowledged
                    if response.status_code == 201:
                        with lock:
                            acknowledged[key] = response.json()["id"]

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 100 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        stop.set()
        for thread in threads:
            thread.join(10)
    assert len(acknowledged) >= 100
    check_durable(url, [f"us-operator:{key}" for key in acknowledged])  # and the chain verifies

    port = free_port()
    with running(url, port, demo=False, data_dir=tmp_path):
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {_token(base)}"}
        listed = httpx.get(
            f"{base}/api/sitreps", headers=headers, params={"crisis": CRISIS}, timeout=30
        ).json()
        assert set(acknowledged.values()) <= {s["id"] for s in listed}
