"""The demo's live picture: sensors of both nations feed the crisis; each nation sees its own fusion."""

from __future__ import annotations

import time

from tests.service.conftest import Service

from kizuna.service.demo import seed_demo
from kizuna.service.demo_intel import start_demo_picture


def test_the_demo_shows_live_fused_tracks_each_nation_its_own(service: Service) -> None:
    runtime = service.runtime
    seed_demo(runtime)
    desk = service.app.state.intel
    feed = start_demo_picture(runtime, desk, speed=200.0)
    try:
        deadline = time.monotonic() + 120
        while feed.filed < 400 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        feed.stop()
    assert feed.filed >= 400
    directory = runtime.directory
    us, jp = directory.get("us-operator"), directory.get("jp-mod-approver")
    us_picture = desk.picture(us, "taiwan-contingency")
    jp_picture = desk.picture(jp, "taiwan-contingency")
    us_sensors = {c.sensor for t in us_picture.tracks for c in t.contributions}
    jp_sensors = {c.sensor for t in jp_picture.tracks for c in t.contributions}
    assert "us-tps80-yonaguni" in us_sensors
    assert "us-tps80-yonaguni" not in jp_sensors
    assert "jasdf-miyako-radar" in jp_sensors
    assert "jasdf-miyako-radar" not in us_sensors
    assert len(us_picture.tracks) >= 10
    assert len(jp_picture.tracks) >= 10
    assert all(t.exercise for t in us_picture.tracks + jp_picture.tracks)  # the demo crisis is an exercise
    assert directory.get("us-disclosure").role == "disclosure-officer"
