"""Several workers on PostgreSQL: each follows the others' writes through NOTIFY.

`kizuna serve --workers 2` runs two processes on one socket; every command here goes over a fresh
connection, so consecutive commands land on either worker. A request filed on one is acted on by the
other, a stream held open on one carries every event, and every worker ends up showing the same state.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx
import pytest

from kizuna.service import benchmark
from kizuna.service.demo import CRISIS
from kizuna.store.pgserver import PostgresServer


def _post(base: str, token: str, path: str, body: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    return httpx.post(f"{base}{path}", json=body, headers=headers, timeout=30)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_follow_each_other(postgres_server: PostgresServer, tmp_path: Path) -> None:
    url = postgres_server.create_database("kizuna_workers")
    tokens = benchmark.prepare_users(url)
    with benchmark.serve_subprocess(url, tmp_path, workers=2) as served:
        base = served.base
        streamed: list[str] = []
        auth = {"Authorization": f"Bearer {tokens['usfj']}"}

        def listen() -> None:
            with httpx.stream(
                "GET", f"{base}/api/events/stream", params={"timeout_s": 8}, headers=auth, timeout=30
            ) as response:
                streamed.extend(response.iter_text())

        listener = threading.Thread(target=listen)
        listener.start()
        deadline = time.monotonic() + 10
        while httpx.get(f"{base}/api/health").json()["subscribers"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)  # the health answer comes from either worker; one of them holds the stream

        filed = _post(base, tokens["usfj"], f"/api/crises/{CRISIS}/requests", benchmark.ASSET_PROTECTION)
        assert filed.status_code == 201, filed.text
        view = filed.json()
        request_id = view["request"]["id"]
        for step in view["steps"]:
            path = f"/api/requests/{request_id}/steps/{step['id']}/actions"
            acted = _post(base, tokens[step["organization"]], path, {"action": step["kind"]})
            assert acted.status_code == 200, acted.text
        listener.join(30)

        text = "".join(streamed)
        ids = [int(n) for n in re.findall(r"^id: (\d+)$", text, flags=re.MULTILINE)]
        assert len(ids) == 1 + len(view["steps"]), "the stream carried every event, from both workers"
        assert ids == sorted(ids)
        workers = {httpx.get(f"{base}/api/health").json()["worker"] for _ in range(40)}
        assert len(workers) == 2, "fresh connections reach both workers"
        for _ in range(10):  # either worker answers, and both come to know the outcome
            deadline = time.monotonic() + 5
            while True:
                got = httpx.get(
                    f"{base}/api/requests/{request_id}", headers=auth | {"Connection": "close"}, timeout=30
                )
                if got.json()["request"]["status"] == "executed" or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert got.json()["request"]["status"] == "executed"
