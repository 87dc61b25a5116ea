"""Event numbers are the user's own: hidden events leave no gap, no count and no time to read.

The log numbers every event; the API numbers, for each user, only the events that user may see. A
Japanese user's events are 1, 2, 3, ... whatever the U.S. files NOFORN in between, in pages and in the
stream, and the stream resumes after a dropped connection without losing or repeating an event. Health
(no login) gives no sequence number at all.
"""

from __future__ import annotations

import re
import threading
import time
from array import array

from hypothesis import given
from hypothesis import strategies as st
from tests.service.conftest import SECRET_BOTH, UNCLASS_BOTH, US_NOFORN, Client, Service
from tests.service.test_end_to_end import CRISIS, open_crisis

from kizuna.access import Classification, Marking, User
from kizuna.coordination import LiveView
from kizuna.service.positions import Numbering


def _report(client: Client, title: str, marking: Marking) -> None:
    response = client.post(
        f"/api/crises/{CRISIS}/sitreps",
        {"title": title, "text": title, "refs": [], "marking": marking.to_json()},
    )
    assert response.status_code == 201, response.text


def _interleaved(service: Service, shared: int = 4) -> None:
    """Open the crisis, then file shared reports with NOFORN U.S. reports between them."""
    open_crisis(service)
    us = service.client("usfj-op")
    for k in range(shared):
        _report(us, f"hidden-{k}-a", US_NOFORN)
        _report(us, f"shared-{k}", SECRET_BOTH)
        _report(us, f"hidden-{k}-b", US_NOFORN)


def _stream(client: Client, **params: object) -> list[tuple[int, str]]:
    """Return (id, title or type) of each message, and check that `data.seq` repeats the id."""
    headers = dict(client.headers)
    last = params.pop("last_event_id", None)
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    with client.http.stream("GET", "/api/events/stream", params=params, headers=headers) as response:
        assert response.status_code == 200
        text = "".join(response.iter_text())
    frames = re.findall(r'^id: (\d+)\nevent: ([\w.-]+)\ndata: \{"seq":(\d+),(.*)$', text, flags=re.MULTILINE)
    assert all(number == seq for number, _, seq, _ in frames)
    return [(int(number), _title(data) or kind) for number, kind, _, data in frames]


def _title(data: str) -> str | None:
    found = re.search(r'"title":"([^"]*)"', data)
    return found.group(1) if found else None


def test_a_users_events_are_numbered_without_gaps_in_pages_and_stream(service: Service) -> None:
    _interleaved(service)
    jp = service.client("jp-observer")
    page = jp.get("/api/events", params={"after": 0}).json()
    assert [e["seq"] for e in page] == list(range(1, len(page) + 1))
    titles = [e["event"].get("title") for e in page]
    assert [t for t in titles if t] == [f"shared-{k}" for k in range(4)]
    assert not any("hidden" in str(e) for e in page)
    streamed = _stream(jp, after=0, timeout_s=0.5)
    assert [n for n, _ in streamed] == [e["seq"] for e in page]
    # The U.S. user sees every event, numbered 1..N too: the log's count, since they may see it all.
    us_page = service.client("usfj-op").get("/api/events", params={"after": 0}).json()
    assert [e["seq"] for e in us_page] == list(range(1, service.runtime.store.head().seq + 1))


def test_the_numbers_do_not_depend_on_hidden_events(service: Service) -> None:
    """The Japanese user's page is the same whether the NOFORN reports came between or never."""
    open_crisis(service)
    us, jp = service.client("usfj-op"), service.client("jp-observer")
    _report(us, "shared-0", SECRET_BOTH)
    before = jp.get("/api/events", params={"after": 0}).json()
    for k in range(5):
        _report(us, f"hidden-{k}", US_NOFORN)
    _report(us, "shared-1", SECRET_BOTH)
    after = jp.get("/api/events", params={"after": 0}).json()
    assert after[: len(before)] == before
    assert after[-1]["seq"] == before[-1]["seq"] + 1, "the next shared event follows at once"
    assert jp.get("/api/events", params={"after": before[-1]["seq"]}).json() == after[-1:]


def test_the_stream_resumes_after_the_last_event_id_with_hidden_events_between(service: Service) -> None:
    _interleaved(service, shared=5)
    jp = service.client("jp-observer")
    everything = _stream(jp, after=0, timeout_s=0.5)
    for cut in range(1, len(everything)):
        first = _stream(jp, after=0, max_events=cut, timeout_s=2)
        rest = _stream(jp, last_event_id=first[-1][0], timeout_s=0.3)
        assert first + rest == everything, cut


def test_a_live_stream_numbers_new_events_on_from_the_backlog(service: Service) -> None:
    _interleaved(service, shared=2)
    jp = service.client("jp-observer")
    known = len(jp.get("/api/events", params={"after": 0, "limit": 1000}).json())
    us_user = service.runtime.directory.get("usfj-op")

    def file_later() -> None:
        deadline = time.monotonic() + 10
        while service.runtime.hub.count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        for k, marking in enumerate([US_NOFORN, UNCLASS_BOTH, US_NOFORN, SECRET_BOTH]):
            service.runtime.coordinator.file_sitrep(
                us_user, CRISIS, title=f"live-{k}", text="", marking=marking
            )

    writer = threading.Thread(target=file_later)
    writer.start()
    live = _stream(jp, after=known - 1, max_events=3, timeout_s=10)
    writer.join()
    assert live == [(known, live[0][1]), (known + 1, "live-1"), (known + 2, "live-3")]


def test_a_client_ahead_of_this_worker_waits_for_its_next_event(service: Service) -> None:
    """After a position this worker's view has not reached (another worker is ahead), nothing repeats."""
    _interleaved(service, shared=1)
    jp = service.client("jp-observer")
    known = len(jp.get("/api/events", params={"after": 0}).json())
    assert jp.get("/api/events", params={"after": known + 1}).json() == []
    us_user = service.runtime.directory.get("usfj-op")

    def file_later() -> None:
        deadline = time.monotonic() + 10
        while service.runtime.hub.count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        for k in range(3):
            service.runtime.coordinator.file_sitrep(
                us_user, CRISIS, title=f"next-{k}", text="", marking=SECRET_BOTH
            )

    writer = threading.Thread(target=file_later)
    writer.start()
    live = _stream(jp, after=known + 1, max_events=1, timeout_s=10)
    writer.join()
    assert live == [(known + 2, "next-1")]


def test_health_gives_no_sequence_number(service: Service) -> None:
    _interleaved(service, shared=1)
    body = service.http.get("/api/health").json()
    assert set(body) == {"status", "backend", "subscribers", "worker"}
    assert body["status"] == "ok"


_MARKINGS = [
    Marking.releasable(Classification.UNCLASSIFIED, "USA", ["JPN", "AUS"]),
    Marking.releasable(Classification.SECRET, "USA", ["JPN"]),
    Marking.national(Classification.SECRET, "USA"),
    Marking.national(Classification.CONFIDENTIAL, "JPN"),
    Marking.releasable(Classification.TOP_SECRET, "JPN", ["USA", "PHL"]),
]
_USERS = [
    User(id=f"u-{n.lower()}-{c.value}", name="u", nation=n, organization="o", role="observer", clearance=c)
    for n in ("USA", "JPN", "AUS", "PHL")
    for c in (Classification.CONFIDENTIAL, Classification.TOP_SECRET)
]


@given(st.lists(st.sampled_from(range(len(_MARKINGS))), max_size=60), st.sampled_from(_USERS), st.data())
def test_numbering_counts_exactly_the_events_the_user_may_see(
    markings: list[int], user: User, data: st.DataObject
) -> None:
    """Against brute force: positions and log positions convert both ways, for any user and log."""
    view = LiveView()
    seq = 0
    visible: list[int] = []
    for index in markings:
        seq += data.draw(st.integers(1, 3))  # the view may skip seqs it could not fold
        view.marked.setdefault(_MARKINGS[index], array("q")).append(seq)
        if user.nation in _MARKINGS[index].rel_to and user.clearance >= _MARKINGS[index].level:
            visible.append(seq)
    numbering = Numbering(view, user)
    for probe in range(seq + 2):
        assert numbering.position(probe) == sum(1 for s in visible if s <= probe)
    assert numbering.seq_of(0) == 0
    for position, expected in enumerate(visible, start=1):
        assert numbering.seq_of(position) == expected
    assert numbering.seq_of(len(visible) + 1) is None
