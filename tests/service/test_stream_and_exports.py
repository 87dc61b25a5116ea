"""The event stream resumes where a client left off; exports carry markings and real coordinates."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.service.conftest import SECRET_BOTH, Client, Service
from tests.service.test_end_to_end import CRISIS, asset_protection, open_crisis

from kizuna.model import load_structure


def _ids(client: Client, **params: object) -> list[int]:
    headers = dict(client.headers)
    last = params.pop("last_event_id", None)
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    with client.http.stream("GET", "/api/events/stream", params=params, headers=headers) as response:
        text = "".join(response.iter_text())
    return [int(n) for n in re.findall(r"^id: (\d+)$", text, flags=re.MULTILINE)]


def test_the_stream_resumes_after_the_last_event_id(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    for _ in range(3):
        us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()))
    first = _ids(us, after=0, max_events=2, timeout_s=2)
    rest = _ids(us, last_event_id=first[-1], max_events=10, timeout_s=0.5)
    everything = _ids(us, after=0, max_events=10, timeout_s=0.5)
    assert first + rest == everything
    assert everything == sorted(set(everything))


def test_the_geojson_export_places_objects_at_their_sites(service: Service) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    filed = us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json())).json()
    response = us.get(f"/api/exports/crises/{CRISIS}.geojson")
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    (feature,) = [f for f in collection["features"] if f["properties"]["id"] == filed["request"]["id"]]
    site = load_structure("us-japan-2025").site_of("msdf")
    assert site is not None
    assert feature["geometry"]["coordinates"] == [site.longitude, site.latitude]
    assert feature["properties"]["banner"].startswith("EXERCISE//SECRET//REL TO USA, JPN")
    structure = load_structure("us-japan-2025")  # names beside the ids, for a map a person reads
    assert feature["properties"]["organization"] == "msdf"
    assert feature["properties"]["organization_name"] == structure.org_by_id["msdf"].name
    assert feature["properties"]["site_name"] == site.name
    assert feature["properties"]["name"] == "MSDF protects U.S. ships"
    assert collection["properties"]["marking"]["level"] == "secret", "the export is as secret as its parts"


def test_a_stream_from_now_does_not_read_the_log_but_one_from_a_position_does(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_crisis(service)
    us = service.client("usfj-op")
    us.post(f"/api/crises/{CRISIS}/requests", asset_protection(SECRET_BOTH.to_json()))
    store = service.runtime.store
    reads: list[int] = []
    real = store.iter_all

    def counted(after_seq: int = 0, *args: Any, **kwargs: Any) -> Any:
        reads.append(after_seq)
        return real(after_seq, *args, **kwargs)

    monkeypatch.setattr(store, "iter_all", counted)  # the real store, its reads counted
    assert _ids(us, timeout_s=0.2) == []  # from now: nothing new came
    assert reads == [], "a stream from now has no backlog to read"
    assert _ids(us, after=0, max_events=10, timeout_s=0.2)  # from the start: the backlog
    assert reads, "a stream from a position reads its backlog from the log"
