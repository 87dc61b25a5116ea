"""The HTTP protocol `kizuna serve` runs: an answer leaves in one write, and nothing is lost or reordered."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from kizuna.service.protocol import GatheringHttpToolsProtocol, GatheringTransport


class _Recording(asyncio.Transport):
    """The transport under the wrapper: records what reaches it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def abort(self) -> None:
        self.calls.append(("abort", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 7


def _in_loop(body: Any) -> Any:
    async def main() -> Any:
        return await body(asyncio.get_running_loop())

    return asyncio.run(main())


def test_what_is_written_in_one_pass_reaches_the_transport_in_one_write() -> None:
    inner = _Recording()

    async def body(loop: asyncio.AbstractEventLoop) -> None:
        gathering = GatheringTransport(inner, loop)
        gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
        gathering.write(bytearray(b"{}"))
        assert inner.calls == []  # nothing yet: the pass is not over
        assert gathering.get_write_buffer_size() == 7 + 21
        await asyncio.sleep(0)
        assert inner.calls == [("write", b"HTTP/1.1 200 OK\r\n\r\n{}")]
        gathering.write(b"data: 1\n\n")  # a later pass: its own write
        await asyncio.sleep(0)
        assert inner.calls[1:] == [("write", b"data: 1\n\n")]

    _in_loop(body)


def test_closing_writes_what_is_pending_first_and_aborting_drops_it() -> None:
    closed, aborted = _Recording(), _Recording()

    async def body(loop: asyncio.AbstractEventLoop) -> None:
        gathering = GatheringTransport(closed, loop)
        gathering.write(b"last words")
        gathering.close()
        assert closed.calls == [("write", b"last words"), ("close", b"")]
        cut = GatheringTransport(aborted, loop)
        cut.write(b"never sent")
        cut.abort()
        await asyncio.sleep(0)
        assert aborted.calls == [("abort", b"")]
        gathering.write(b"after close")
        await asyncio.sleep(0)
        assert closed.calls[-1] == ("close", b"")  # a closing transport is not written to

    _in_loop(body)


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    """Echo the request body; at /stream, three messages a moment apart."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    if scope["path"] == "/stream":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        for i in range(3):
            await send({"type": "http.response.body", "body": b"part %d\n" % i, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    """A real uvicorn server on loopback running the protocol."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=GatheringHttpToolsProtocol, log_level="warning"
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    for _ in range(200):
        if served.started:
            break
        threading.Event().wait(0.02)
    yield port
    served.should_exit = True
    thread.join(10)


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
        return received


def test_a_real_server_answers_pipelined_requests_in_order_and_closes_after_the_last(server: int) -> None:
    one = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nfirst"
    two = b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecond"
    received = _exchange(server, one + two)
    assert received.count(b"HTTP/1.1 200 OK") == 2
    assert received.index(b"\r\n\r\nfirst") < received.index(b"\r\n\r\nsecond")
    assert received.endswith(b"\r\n\r\nsecond")  # the answer written before the close is all there


def test_a_real_server_streams_every_part_of_a_chunked_answer(server: int) -> None:
    received = _exchange(server, b"GET /stream HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head
    assert body == b"7\r\npart 0\n\r\n7\r\npart 1\n\r\n7\r\npart 2\n\r\n0\r\n\r\n"
