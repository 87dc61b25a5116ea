"""Serving an app on a loopback port from a thread, for the browser tests and `kizuna bench web`.

A real HTTP server (uvicorn) on 127.0.0.1 and a free port, so a real browser can load the console
exactly as it loads `kizuna serve`; the server stops when the block ends.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from kizuna.service.protocol import GatheringHttpToolsProtocol


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: FastAPI, *, timeout_s: float = 30.0) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 from a background thread; yield its base URL; stop it at the end.

    Raises:
        TimeoutError: The server did not start within `timeout_s`.
    """
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=GatheringHttpToolsProtocol,  # as `kizuna serve` runs it
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=1,  # open event streams never end by themselves
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"kizuna-web-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the server on port {port} did not start within {timeout_s:.0f} s")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
