"""The bridge between fused pictures and CoT: tracks out through the egress filter, CoT in as tracks.

A `Feed` is one CoT connection's configuration: the Kizuna identity it acts as, the crisis, whether the
feed is configured as real or as exercise, and the audience whose picture it carries (the identity's
own by default). Outgoing, every track passes `can_see(identity, marking)` — the filter of the API —
and a real feed never receives exercise traffic (nor an exercise feed real traffic). Incoming, each
event becomes a scan of the identity's TAK sensor, under the identity's nation and the feed's marking,
narrowed by the event's own `access`/`caveat`/`rel_to`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

from kizuna.access import Classification, Marking, User, can_see
from kizuna.errors import InvalidQuery, NotFound
from kizuna.intel import Audience, FusedTrack, IntelDesk, Picture, PositionReport, ScanReceipt, SensorKind
from kizuna.interop.cot.codec import UNKNOWN, CotEvent, marking_attributes, marking_from_attributes, to_xml
from kizuna.interop.tracks import track_type

#: The detail element that repeats the marking and opex: TAK servers that rebuild events (taky does)
#: drop the event's own marking attributes but pass detail elements through.
MARKING_DETAIL = "__marking"
#: Position error assumed for an incoming event that gives none (CoT's 9999999 "unknown"), in metres.
UNKNOWN_ERROR_M = 1_000.0


@dataclass(frozen=True, slots=True)
class Feed:
    """One CoT connection: who it is, which crisis, real or exercise, which audience.

    Attributes:
        marking: The marking incoming events get (the sender's nation owns it); None means the
            identity's nation only, at the identity's clearance.
    """

    user: User
    crisis: str
    exercise: bool
    audience: Audience | None = None
    marking: Marking | None = None
    stale_s: float = 120.0

    @property
    def sensor_id(self) -> str:
        """The sensor incoming events are filed as: one per identity and crisis."""
        return f"tak-{self.user.id}-{self.crisis}"[:120]


def track_event(track: FusedTrack, feed: Feed) -> CotEvent:
    """Return the CoT event of a fused track for a feed (its marking in the CoT attributes)."""
    attributes = marking_attributes(track.marking)
    ce = math.sqrt((track.sigma_m[0] ** 2 + track.sigma_m[1] ** 2) / 2)
    sensors = ", ".join(c.sensor for c in track.contributions)
    opex = f"e-{track.crisis}" if track.exercise else "o"
    banner = track.marking.banner(feed.user.nation)
    detail = (
        f'<contact callsign="{track.id}"/>'
        f'<track course="{track.course_deg:.1f}" speed="{track.speed_m_s:.2f}"/>'
        f"<{MARKING_DETAIL} access={quoteattr(attributes['access'])} "
        f"caveat={quoteattr(attributes['caveat'])} rel_to={quoteattr(attributes['rel_to'])} "
        f"opex={quoteattr(opex)} banner={quoteattr(banner)}/>"
        f"<remarks>{escape(banner)} fused from {escape(sensors)}</remarks>"
    )
    return CotEvent(
        uid=f"kizuna.{track.crisis}.{track.id}",
        type=track_type(track),
        how="m-f",
        time=track.updated_at,
        start=track.updated_at,
        stale=track.updated_at + timedelta(seconds=feed.stale_s),
        lat=track.lat,
        lon=track.lon,
        hae=track.alt_m,
        ce=round(ce, 1),
        le=round(track.sigma_m[2], 1),
        access=attributes["access"],
        caveat=attributes["caveat"],
        releasable_to=attributes["rel_to"],
        opex=opex,
        detail=detail,
    )


def releasable_tracks(picture: Picture, feed: Feed) -> list[FusedTrack]:
    """Return the tracks that may leave on this feed: visible to its identity, of the feed's kind."""
    return [t for t in picture.tracks if can_see(feed.user, t.marking) and t.exercise == feed.exercise]


@dataclass
class Outbox:
    """What a connection has sent: each track's last update, so only changed tracks go out again."""

    sent: dict[str, datetime] = field(default_factory=dict)

    def changes(self, picture: Picture, feed: Feed) -> list[bytes]:
        """Return the CoT XML of tracks new or updated since the last call."""
        out: list[bytes] = []
        for track in releasable_tracks(picture, feed):
            if self.sent.get(track.id) != track.updated_at:
                self.sent[track.id] = track.updated_at
                out.append(to_xml(track_event(track, feed)))
        return out


def report_of(event: CotEvent) -> PositionReport:
    """Return an incoming event as a position report (unknown errors read as `UNKNOWN_ERROR_M`)."""
    horizontal = event.ce if 0 < event.ce < UNKNOWN else UNKNOWN_ERROR_M
    vertical = event.le if 0 < event.le < UNKNOWN else UNKNOWN_ERROR_M
    try:
        return PositionReport(
            lat=event.lat,
            lon=event.lon,
            alt_m=event.hae if event.hae < UNKNOWN else 0.0,
            sigma_m=(horizontal, horizontal, vertical),
            track=event.uid[:64],
            kind=event.type.split(";")[0] if event.type.startswith("a-") else "",
        )
    except ValueError as error:
        raise InvalidQuery(f"CoT event {event.uid!r}: {error}") from error


def with_detail_marking(event: CotEvent) -> CotEvent:
    """Return the event with the marking and opex of its `__marking` detail where its own are missing."""
    if MARKING_DETAIL not in event.detail:
        return event
    from lxml import etree

    try:
        detail = etree.fromstring(f"<detail>{event.detail}</detail>")
    except etree.XMLSyntaxError:
        return event
    element = detail.find(MARKING_DETAIL)
    if element is None:
        return event
    return event.model_copy(
        update={
            "access": event.access or element.get("access"),
            "caveat": event.caveat or element.get("caveat"),
            "releasable_to": event.releasable_to or element.get("rel_to"),
            "opex": event.opex or element.get("opex"),
        }
    )


def file_incoming(desk: IntelDesk, feed: Feed, event: CotEvent) -> ScanReceipt:
    """File an incoming event as a scan of the feed identity's TAK sensor (registered on first use).

    Raises:
        InvalidQuery: The event is exercise traffic on a real feed (or real on an exercise feed).
    """
    event = with_detail_marking(event)
    if event.exercise != feed.exercise:
        kind = "exercise" if event.exercise else "real"
        raise InvalidQuery(
            f"a {kind} CoT event on a feed configured as {'exercise' if feed.exercise else 'real'}"
        )
    user = feed.user
    marking = feed.marking or Marking.national(
        Classification(user.clearance), user.nation, exercise=feed.exercise
    )
    try:
        desk.sensor(user, feed.sensor_id)
    except NotFound:
        desk.register_sensor(
            user,
            feed.crisis,
            sensor_id=feed.sensor_id,
            name=f"TAK clients of {user.id}",
            kind=SensorKind.TAK,
            marking=marking,
            idempotency_key=f"tak-sensor-{feed.sensor_id}",
        )
    restriction = None
    if event.access or event.caveat or event.releasable_to:
        restriction = marking_from_attributes(
            event.access, event.caveat, event.releasable_to, owner=user.nation, exercise=feed.exercise
        )
    return desk.report_tracks(
        user, feed.sensor_id, time=event.time, reports=[report_of(event)], restriction=restriction
    )
