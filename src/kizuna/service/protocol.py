"""The HTTP protocol `kizuna serve` runs: uvicorn's httptools protocol, each answer sent in one write.

uvicorn writes an answer's status line and headers when the application starts it, and its body
when the application sends it: two writes, so two `send` calls into the kernel and two TCP segments
for the client to wake up to, for the one answer (uvloop writes at once when nothing is queued, the
event loop holding the GIL throughout). Under command load those writes were a fifth of the event
loop's time (`docs/service.md`, item 18, seventh pass). This protocol gives uvicorn a transport that
gathers what is written during one pass of the event loop and hands it on in one write at the end of
that pass: an answer's head and body (sent one after the other, without waiting) leave together; a
stream's messages a moment apart still leave as they are sent. Closing or aborting, asking for the
write buffer's size, and everything else go to the real transport, pending bytes first.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class GatheringTransport(asyncio.Transport):
    """A transport that passes the bytes written during one event-loop pass on in one write."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        """Wrap `transport`, flushing at the end of the current pass of `loop`."""
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Queue `data`; the first write of a pass arranges the pass's one write to the transport."""
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        """Queue each of the pieces (as `write` does)."""
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Hand what is pending to the transport, in one write (unless the transport is closing)."""
        if not self._pending:
            return
        pending = self._pending
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        """Write what is pending, then close the transport (it sends its buffer before closing)."""
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        """Drop what is pending and abort the transport at once."""
        self._pending = []
        self._transport.abort()

    def write_eof(self) -> None:
        """Write what is pending, then half-close the transport."""
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        """Whether the transport can half-close."""
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        """The transport's buffer and what is pending here."""
        return self._transport.get_write_buffer_size() + sum(len(p) for p in self._pending)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        """The transport's flow-control limits."""
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Set the transport's flow-control limits."""
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        """Whether the transport is closing or closed."""
        return self._transport.is_closing()

    def is_reading(self) -> bool:
        """Whether the transport is reading."""
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        """Pause the transport's reading (flow control of request bodies)."""
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        """Resume the transport's reading."""
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Hand the connection to another protocol (an upgrade), pending bytes first."""
        self.flush()
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        """The protocol the transport delivers to."""
        return self._transport.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """The transport's information (socket, peer name, TLS context)."""
        return self._transport.get_extra_info(name, default)


class GatheringHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools HTTP/1.1 protocol over a `GatheringTransport` (see the module)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Start the connection over a gathering wrapper of `transport`."""
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        super().connection_made(GatheringTransport(cast("asyncio.Transport", transport), self.loop))
