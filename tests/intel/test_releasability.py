"""Releasable by construction: what a Japanese user receives is fused from what Japan may see, only.

The property (Hypothesis): for random scans from sensors of four markings (U.S. NOFORN, U.S. releasable
to Japan, Japanese releasable to the U.S., Japanese NOFORN),

- the picture a Japanese user reads is identical — ids, values, counts, versions, times — to the picture
  fused from only the scans releasable to Japan;
- adding a U.S. NOFORN scan anywhere in the log, or moving one, changes nothing a Japanese user can
  observe: the picture, every update delivered to a subscriber and when (after which scan), the sensors
  listed, and the error for asking about a sensor Japan may not see.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.intel.conftest import FRAME, params

from kizuna.access import Classification, Marking, User
from kizuna.errors import NotFound
from kizuna.intel import (
    Audience,
    Filer,
    IntelDesk,
    IntelView,
    PictureBook,
    PositionReport,
    SensorKind,
    SensorRegistered,
    TracksReported,
)
from kizuna.store import open_store

CRISIS = "c"
MARKINGS = {
    "us-noforn": Marking.national(Classification.SECRET, "USA"),
    "us-rel": Marking.releasable(Classification.SECRET, "USA", ["JPN"]),
    "jp-rel": Marking.releasable(Classification.SECRET, "JPN", ["USA"]),
    "jp-noforn": Marking.national(Classification.SECRET, "JPN"),
}
JAPANESE = User(
    id="jp-watch", name="JP", nation="JPN", organization="jjoc", role="operator", clearance="secret"
)
AMERICAN = User(
    id="us-watch", name="US", nation="USA", organization="usfj", role="operator", clearance="secret"
)
START = datetime(2027, 4, 6, 5, 0, tzinfo=UTC)
TARGETS = [(25.50, 123.40, 0.0), (25.52, 123.45, 0.0), (25.45, 123.60, 6000.0)]


def _registered(sensor: str, seq: int) -> tuple[int, SensorRegistered]:
    marking = MARKINGS[sensor]
    return seq, SensorRegistered(
        at=START,
        actor=Filer(user="x", organization="o", nation=marking.owner or "USA", role="operator"),
        rule=("r",),
        marking=marking,
        exercise=False,
        crisis=CRISIS,
        sensor=sensor,
        name=sensor,
        kind=SensorKind.RADAR,
    )


def _scan(sensor: str, second: int, noise: list[tuple[float, float]]) -> TracksReported:
    reports = tuple(
        PositionReport(
            lat=lat + 0.0004 * second + dn,
            lon=lon + 0.0003 * second + de,
            alt_m=alt,
            sigma_m=(60.0, 60.0, 30.0),
            track=f"{sensor}-{i}",
        )
        for i, ((lat, lon, alt), (dn, de)) in enumerate(zip(TARGETS, noise, strict=False))
    )
    return TracksReported(
        at=START,
        actor=Filer(user="x", organization="o", nation=MARKINGS[sensor].owner or "USA", role="operator"),
        rule=("r",),
        marking=MARKINGS[sensor],
        exercise=False,
        crisis=CRISIS,
        sensor=sensor,
        time=START.replace(second=second % 60, minute=second // 60),
        reports=reports,
    )


noise = st.lists(st.tuples(st.floats(-0.0005, 0.0005), st.floats(-0.0005, 0.0005)), min_size=1, max_size=3)
scans = st.lists(st.tuples(st.sampled_from(sorted(MARKINGS)), noise), min_size=1, max_size=18).map(
    lambda items: [_scan(sensor, second * 2, n) for second, (sensor, n) in enumerate(items)]
)


def _view(events: list[TracksReported]) -> tuple[IntelView, list[TracksReported]]:
    view = IntelView(frame=FRAME)
    for seq, sensor in enumerate(sorted(MARKINGS), start=1):
        view.apply(*_registered(sensor, seq))
    return view, events


def _replay(events: list[TracksReported], audience: Audience) -> tuple[object, list[object]]:
    """Apply events one by one with a subscriber attached; return the final picture and every delivery."""
    view, _ = _view([])
    book = PictureBook(view, params())
    delivered: list[object] = []
    book.subscribe(CRISIS, audience, delivered.append)
    for seq, event in enumerate(events, start=10):
        view.apply(seq, event)
        book.advance(CRISIS)
        delivered.append(("after-scan", len([e for e in events[: seq - 9] if audience.sees(e.marking)])))
    return book.picture(CRISIS, audience), delivered


JAPAN = Audience.of(JAPANESE)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scans)
def test_a_japanese_picture_is_the_fusion_of_what_japan_may_see(events: list[TracksReported]) -> None:
    full, _ = _replay(events, JAPAN)
    releasable = [e for e in events if JAPAN.sees(e.marking)]
    only, _ = _replay(releasable, JAPAN)
    assert full == only
    assert all(t.marking.rel_to >= {"JPN"} for t in full.tracks)  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scans, st.integers(0, 18), st.integers(0, 18), noise)
def test_adding_or_moving_a_noforn_scan_changes_nothing_japan_observes(
    events: list[TracksReported], where: int, elsewhere: int, extra_noise: list[tuple[float, float]]
) -> None:
    secret = _scan("us-noforn", 1, extra_noise)
    secret = secret.model_copy(update={"time": events[min(where, len(events) - 1)].time})
    with_secret = [*events[:where], secret, *events[where:]]
    moved = [*events[:elsewhere], secret, *events[elsewhere:]]
    baseline = _replay(events, JAPAN)
    deliveries = [[d for d in run[1] if not isinstance(d, tuple)] for run in (baseline,)]
    for variant in (with_secret, moved):
        picture, delivered = _replay(variant, JAPAN)
        assert picture == baseline[0]
        # The same pictures delivered, after the same visible scans: the secret scan triggers nothing.
        assert [d for d in delivered if not isinstance(d, tuple)] == deliveries[0]
        assert _timing(delivered) == _timing(baseline[1])


def _timing(delivered: list[object]) -> list[int]:
    """Return, for each delivery, how many visible scans had been applied when it came."""
    out: list[int] = []
    seen = 0
    for item in delivered:
        if isinstance(item, tuple):
            seen = item[1]
        else:
            out.append(seen)
    return out


def test_a_sensor_japan_may_not_see_is_answered_like_one_that_does_not_exist(tmp_path: Path) -> None:
    """A real desk over a real store: the four sensors registered by filers of their nations."""
    crisis_marking = Marking.releasable(Classification.SECRET, "USA", ["JPN"])
    with open_store(f"sqlite:///{tmp_path / 'kizuna.db'}", listen=False) as store:
        desk = IntelDesk(store, clock=lambda: START, crisis_marking=lambda _user, _crisis: crisis_marking)
        for sensor, marking in sorted(MARKINGS.items()):
            filer = AMERICAN if marking.owner == "USA" else JAPANESE
            desk.register_sensor(
                filer, CRISIS, sensor_id=sensor, name=sensor, kind=SensorKind.RADAR, marking=marking
            )
        hidden = _message(lambda: desk.sensor(JAPANESE, "us-noforn"))
        missing = _message(lambda: desk.sensor(JAPANESE, "no-such-sensor"))
        assert hidden.replace("us-noforn", "X") == missing.replace("no-such-sensor", "X")
        assert [s.id for s in desk.sensors(JAPANESE)] == ["jp-noforn", "jp-rel", "us-rel"]
        assert [s.id for s in desk.sensors(AMERICAN)] == ["jp-rel", "us-noforn", "us-rel"]


def _message(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except NotFound as error:
        return str(error)
    raise AssertionError("expected NotFound")


def test_a_us_picture_uses_the_us_only_radar_and_japan_s_does_not() -> None:
    events = [_scan(s, 2 * k, [(0.0, 0.0)] * 3) for k, s in enumerate(["us-noforn", "jp-rel"] * 4)]
    us, _ = _replay(events, Audience.of(AMERICAN))
    jp, _ = _replay(events, JAPAN)
    us_sensors = {c.sensor for t in us.tracks for c in t.contributions}  # type: ignore[attr-defined]
    jp_sensors = {c.sensor for t in jp.tracks for c in t.contributions}  # type: ignore[attr-defined]
    assert us_sensors == {"us-noforn", "jp-rel"}
    assert jp_sensors == {"jp-rel"}
    assert all(
        not t.marking.rel_to >= {"JPN"}
        for t in us.tracks
        if "us-noforn" in {c.sensor for c in t.contributions}
    )  # type: ignore[attr-defined]
    assert np.isfinite([t.lat for t in jp.tracks]).all()  # type: ignore[attr-defined]
