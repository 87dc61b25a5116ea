"""CoT streams: an endpoint TAK clients connect to (TCP, or TLS with client certificates), and a client
that feeds a TAK server.

Each connection has one `Feed`: over TLS the client certificate's common name is the Kizuna user id
(looked up, and refused if unknown or inactive); over plain TCP the endpoint is configured with one
identity. The connection receives its audience's picture as CoT XML — first every releasable track,
then each track as it changes — and every event it sends is filed as a scan of its TAK sensor. Events
are delimited as TAK streams delimit them: each ends with `</event>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from pathlib import Path

from kizuna.errors import KizunaError
from kizuna.intel import IntelDesk, Picture
from kizuna.interop.cot.bridge import Feed, Outbox, file_incoming
from kizuna.interop.cot.codec import MAX_EVENT_BYTES, parse_proto, parse_xml

log = logging.getLogger(__name__)

#: Returns the feed of a connection from its TLS peer certificate (None for plain TCP).
Identify = Callable[[dict[str, object] | None], Feed]
_END = b"</event>"


def server_tls(cert: Path, key: Path, client_ca: Path) -> ssl.SSLContext:
    """Return a TLS context that requires client certificates signed by `client_ca`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_ca))
    context.load_cert_chain(str(cert), str(key))
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_tls(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """Return a TLS context that trusts `ca` and presents a client certificate if given."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key) if key else None)
    return context


def common_name(peer: dict[str, object] | None) -> str | None:
    """Return the common name of a peer certificate (as `ssl.getpeercert()` gives it)."""
    if not peer:
        return None
    subject = peer.get("subject", ())
    for rdn in subject if isinstance(subject, tuple) else ():
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None


class CotSession:
    """One connection: the picture out, events in, until either side closes."""

    def __init__(self, desk: IntelDesk, feed: Feed) -> None:
        """Prepare a session for a feed."""
        self.desk = desk
        self.feed = feed
        self.outbox = Outbox()
        self.received = 0
        self.refused = 0

    async def run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Send picture updates and read incoming events until the connection closes."""
        loop = asyncio.get_running_loop()
        pictures: asyncio.Queue[Picture] = asyncio.Queue(maxsize=8)

        def deliver(picture: Picture) -> None:
            def put() -> None:
                if pictures.full():
                    pictures.get_nowait()
                pictures.put_nowait(picture)

            loop.call_soon_threadsafe(put)

        feed = self.feed
        remove = await asyncio.to_thread(self.desk.subscribe, feed.user, feed.crisis, deliver, feed.audience)
        first = await asyncio.to_thread(self.desk.picture, feed.user, feed.crisis, feed.audience)
        pictures.put_nowait(first)
        sender = asyncio.create_task(self._send(pictures, writer))
        try:
            await self._receive(reader)
        finally:
            remove()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    async def _send(self, pictures: asyncio.Queue[Picture], writer: asyncio.StreamWriter) -> None:
        while True:
            picture = await pictures.get()
            for message in self.outbox.changes(picture, self.feed):
                writer.write(message)
            await writer.drain()

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        while chunk := await reader.read(65536):
            buffer += chunk
            while True:
                if buffer[:1] == b"\xbf":  # TAK Protocol version 1, stream framing
                    consumed = await self._proto(buffer)
                    if not consumed:
                        break
                    buffer = buffer[consumed:]
                    continue
                end = buffer.find(_END)
                if end < 0:
                    break
                message, buffer = buffer[: end + len(_END)], buffer[end + len(_END) :]
                await self._file(message, xml=True)
            if len(buffer) > MAX_EVENT_BYTES:
                log.warning(
                    "CoT feed of %s: dropped %d bytes without an event end", self.feed.user.id, len(buffer)
                )
                buffer = b""

    async def _proto(self, buffer: bytes) -> int:
        """File the framed protobuf message that starts `buffer`; return its length (0: incomplete)."""
        length, shift, at = 0, 0, 1
        while True:
            if at >= len(buffer):
                return 0
            byte = buffer[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        if len(buffer) < at + length:
            return 0
        await self._file(buffer[: at + length], xml=False)
        return at + length

    async def _file(self, message: bytes, *, xml: bool) -> None:
        try:
            event = parse_xml(message) if xml else parse_proto(message)
            await asyncio.to_thread(file_incoming, self.desk, self.feed, event)
            self.received += 1
        except KizunaError as error:
            self.refused += 1
            log.info("CoT feed of %s: refused an event: %s", self.feed.user.id, error)


async def serve(
    desk: IntelDesk,
    identify: Identify,
    *,
    host: str = "127.0.0.1",
    port: int = 8087,
    tls: ssl.SSLContext | None = None,
) -> asyncio.Server:
    """Start a CoT stream endpoint; each connection is identified, then served its picture."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = None
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            peer = ssl_object.getpeercert()
        try:
            feed = identify(peer)
        except KizunaError as error:
            log.warning("CoT connection refused: %s", error)
            writer.close()
            return
        await CotSession(desk, feed).run(reader, writer)

    return await asyncio.start_server(handle, host, port, ssl=tls)


async def feed_server(
    desk: IntelDesk, feed: Feed, *, host: str, port: int, tls: ssl.SSLContext | None = None
) -> CotSession:
    """Connect to a TAK server and feed it the picture (and file what it sends) until it closes."""
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    session = CotSession(desk, feed)
    await session.run(reader, writer)
    return session
