"""A real TAK server (taky) on loopback, PyTAK as the independent client, and Kizuna's own TLS endpoint.

The crisis has two U.S. sensors: a radar marked NOFORN that sees two ships in the north, and a P-8
releasable to Japan that sees two ships in the south. The U.S. picture has four tracks; Japan's, two.

- Kizuna feeds taky as a Japanese identity: a PyTAK client on taky receives the two southern tracks
  with their CoT type, position and marking, and never a northern (U.S.-only) one.
- PyTAK sends position reports to taky; taky routes them to Kizuna's feed, and they become tracks of
  the Japanese identity's TAK sensor, under Japan's marking.
- Kizuna's own CoT endpoint over TLS identifies clients by certificate: the Japanese identity's
  connection receives only the southern tracks, the U.S. identity's all four; a certificate of no
  Kizuna user is refused.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.service.conftest import Service

from kizuna.access import Classification, Marking, User
from kizuna.errors import PermissionDenied
from kizuna.intel import IntelDesk, PositionReport, SensorKind
from kizuna.interop.cot import Feed, make_certificates, parse_xml, with_detail_marking
from kizuna.interop.cot.stream import client_tls, common_name, feed_server, serve, server_tls

NORTH = [(26.10, 123.40), (26.15, 123.50)]
SOUTH = [(25.20, 123.60), (25.25, 123.70)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def taky(tmp_path: Path) -> Iterator[int]:
    """Start taky on a free loopback port (no TLS); stop it at the end."""
    port = _free_port()
    (tmp_path / "taky.conf").write_text(
        f"[taky]\nhostname = localhost\nnode_id = KIZUNATEST\nbind_ip = 127.0.0.1\nroot_dir = {tmp_path}\n"
        f"[cot_server]\nport = {port}\n[ssl]\nenabled = false\n"
    )
    taky_bin = Path(sys.executable).with_name("taky")
    process = subprocess.Popen(
        [str(taky_bin), "-c", str(tmp_path / "taky.conf"), "-l", "warning"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("taky did not start")
                time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def picture(service: Service) -> tuple[IntelDesk, str]:
    """A real crisis with the two U.S. sensors and twelve seconds of their scans."""
    admin = service.client("admin")
    answer = admin.post(
        "/api/crises",
        json={
            "name": "East China Sea",
            "structure": "us-japan-2025",
            "situation": "gray-zone",
            "exercise": False,
            "marking": {"level": "secret", "owner": "USA", "rel_to": ["JPN"]},
        },
        key="east-china-sea",
    )
    assert answer.status_code == 201, answer.text
    crisis: str = answer.json()["id"]  # the service chooses crisis ids
    desk: IntelDesk = service.app.state.intel
    us = service.runtime.directory.get("usfj-op")
    desk.register_sensor(
        us,
        crisis,
        sensor_id="us-radar",
        name="U.S. radar",
        kind=SensorKind.RADAR,
        marking=Marking.national(Classification.SECRET, "USA"),
    )
    desk.register_sensor(
        us,
        crisis,
        sensor_id="us-p8",
        name="P-8A",
        kind=SensorKind.PATROL_AIRCRAFT,
        marking=Marking.releasable(Classification.SECRET, "USA", ["JPN"]),
    )
    start = datetime.now(UTC) - timedelta(seconds=20)  # PyTAK dates its events by the wall clock
    for second in range(12):
        sensor, ships = ("us-radar", NORTH) if second % 2 == 0 else ("us-p8", SOUTH)
        desk.report_tracks(
            us,
            sensor,
            time=start + timedelta(seconds=second),
            reports=[
                PositionReport(lat=a, lon=b, sigma_m=(40.0, 40.0, 10.0), kind="a-h-S") for a, b in ships
            ],
        )
    return desk, crisis


def _events(data: bytes) -> list[bytes]:
    return [part + b"</event>" for part in data.split(b"</event>") if b"<event" in part]


async def _read_for(reader: asyncio.StreamReader, seconds: float, until: int | None = None) -> bytes:
    """Read for `seconds`, or until `until` Kizuna track events have arrived."""
    data = b""
    deadline = asyncio.get_running_loop().time() + seconds
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            async with asyncio.timeout(left):
                chunk = await reader.read(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        data += chunk
        if until is not None and data.count(b'uid="kizuna.') >= until:
            await asyncio.sleep(0.5)  # let any further (wrong) event arrive too
            data += await _drain(reader)
            break
    return data


async def _drain(reader: asyncio.StreamReader) -> bytes:
    try:
        async with asyncio.timeout(0.5):
            return await reader.read(65536)
    except TimeoutError:
        return b""


def test_kizuna_feeds_taky_and_pytak_sees_only_what_japan_may_see(
    service: Service, picture: tuple[IntelDesk, str], taky: int
) -> None:
    import configparser

    import pytak

    desk, crisis = picture
    japanese = service.runtime.directory.get("jp-mod-op")
    feed = Feed(user=japanese, crisis=crisis, exercise=False)
    assert len(desk.picture(japanese, crisis).tracks) == 2

    async def run() -> tuple[bytes, int]:
        config = configparser.ConfigParser()
        config["pytak"] = {"COT_URL": f"tcp://127.0.0.1:{taky}"}
        reader, writer = await pytak.protocol_factory(config["pytak"])
        await asyncio.sleep(0.5)  # taky registers the client before Kizuna's events arrive
        bridge = asyncio.create_task(feed_server(desk, feed, host="127.0.0.1", port=taky))
        received = await _read_for(reader, 20, until=2)
        for k in range(4):  # a PyTAK client reports its own position through taky to Kizuna
            event = pytak.cot_event(
                lat=25.5 + 0.0001 * k,
                lon=124.0,
                ce=15,
                hae=0,
                le=10,
                uid="PYTAK-BOAT",
                cot_type="a-f-S",
                stale=120,
            )
            writer.write(pytak.serialize_cot(event))
            await writer.drain()
            await asyncio.sleep(0.3)
        await asyncio.sleep(3)
        writer.close()
        bridge.cancel()
        return received, k + 1

    received, sent = asyncio.run(run())
    events = [with_detail_marking(parse_xml(e)) for e in _events(received)]
    tracks = {e.uid: e for e in events if e.uid.startswith("kizuna.")}
    assert len(tracks) == 2
    for event in tracks.values():
        assert event.type == "a-h-S"
        assert any(abs(event.lat - a) < 0.01 and abs(event.lon - b) < 0.01 for a, b in SOUTH)
        assert (event.access, event.caveat, event.releasable_to) == ("SECRET", "REL TO", "USA JPN")
        assert event.opex == "o"
    assert not any(abs(e.lat - a) < 0.05 for e in events for a, _ in NORTH)

    sensor = desk.sensor(japanese, feed.sensor_id)
    assert sensor.nation == "JPN"
    assert sensor.kind is SensorKind.TAK
    filed = [r for r in desk.view.scans[crisis] if r.sensor == feed.sensor_id]
    assert len(filed) == sent
    assert all(desk.view.scan_marking(r).rel_to == {"JPN"} for r in filed)  # Japan's, not released
    boat = [t for t in desk.picture(japanese, crisis).tracks if t.kind == "a-f-S"]
    assert len(boat) == 1
    assert abs(boat[0].lon - 124.0) < 0.01


def test_kizuna_s_tls_endpoint_serves_each_identity_its_own_picture(
    service: Service, picture: tuple[IntelDesk, str], tmp_path: Path
) -> None:
    desk, crisis = picture
    certs = make_certificates(tmp_path / "certs", users=["jp-mod-op", "usfj-op", "stranger"])
    directory = service.runtime.directory

    def identify(peer: dict[str, object] | None) -> Feed:
        user_id = common_name(peer)
        user: User = directory.get(user_id) if user_id else None  # type: ignore[assignment]
        if user_id is None or not user.active:
            raise PermissionDenied("no such user")
        return Feed(user=user, crisis=crisis, exercise=False)

    def identify_known(peer: dict[str, object] | None) -> Feed:
        from kizuna.errors import NotFound, UnknownId

        try:
            return identify(peer)
        except (NotFound, UnknownId, KeyError) as error:
            raise PermissionDenied(f"certificate of no Kizuna user: {error}") from error

    async def connect(port: int, who: str) -> bytes:
        context = client_tls(certs["ca"].cert, certs[who].cert, certs[who].key)
        reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
        data = await _read_for(reader, 4)
        writer.close()
        return data

    async def run() -> dict[str, bytes]:
        tls = server_tls(certs["server"].cert, certs["server"].key, certs["ca"].cert)
        server = await serve(desk, identify_known, host="127.0.0.1", port=0, tls=tls)
        port = server.sockets[0].getsockname()[1]
        try:
            out = {who: await connect(port, who) for who in ("jp-mod-op", "usfj-op")}
            try:
                out["stranger"] = await connect(port, "stranger")
            except (ssl.SSLError, ConnectionError):
                out["stranger"] = b""
            return out
        finally:
            server.close()
            await server.wait_closed()

    received = asyncio.run(run())
    japan = [parse_xml(e) for e in _events(received["jp-mod-op"])]
    america = [parse_xml(e) for e in _events(received["usfj-op"])]
    assert len(japan) == 2
    assert len(america) == 4
    assert all(e.releasable_to == "USA JPN" for e in japan)
    assert sum(e.caveat == "NOFORN" for e in america) == 2
    assert received["stranger"] == b""
    assert datetime.now(UTC) > japan[0].time
