"""The intelligence desk: sensors, track reports, intelligence reports and release decisions, live.

Every command is checked (role, nation, the marking the user may see) and recorded as one append to one
stream; the desk then catches its view up from the log, so it follows other processes exactly like its
own commands. Pictures are fused per audience (`PictureBook`). Nothing here widens a marking except a
release decision by a disclosure officer of the owner nation, which is an event naming the officer and
the reason.

The desk never imports the coordination package (both sit in layer 5): the crisis a command names is
looked up through `crisis_marking(user, crisis_id)`, which the service wires to the coordinator and which
raises NotFound for a crisis the user may not see.

Users only act on what they may see: every id a command names is looked up for the user (visible or
NotFound) before anything else, the idempotency key included, and the desk chooses the ids of what a
user creates (sensors, reports, decisions), so no answer tells a hidden object from a missing one. An
idempotency key belongs to one user and one command with its arguments (their digest is recorded with
the write, as the coordinator does): a retry answers what the first write made, and reusing the key for
anything else is refused.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel

from kizuna.access import Marking, Role, User, can_see, combine
from kizuna.errors import ConflictError, InvalidQuery, NotFound, PermissionDenied
from kizuna.ids import new_id
from kizuna.intel.audience import Audience
from kizuna.intel.events import (
    INTEL_EVENT_TYPES,
    AnyIntelEvent,
    Credibility,
    Filer,
    IntelEvent,
    Place,
    PositionReport,
    Reliability,
    ReportFiled,
    SensorKind,
    SensorRegistered,
    SensorReleased,
    TearlineReleased,
    TracksReported,
    intel_event_from_data,
    intel_event_to_data,
)
from kizuna.intel.fusion import FusionParams
from kizuna.intel.geo import Frame
from kizuna.intel.picture import Picture, PictureBook, PictureListener
from kizuna.intel.view import IntelReport, IntelView, ReleaseDecision, SensorState
from kizuna.store import Clock, EventStore, NewEvent, StoredEvent

#: Returns the marking of a crisis the user may see; raises NotFound otherwise.
CrisisLookup = Callable[[User, str], Marking]

RULE_REGISTER = "intel.nation-registers-own-sensor"
RULE_REPORT = "intel.sensor-nation-reports-tracks"
RULE_FILE = "intel.member-files-report"
RULE_TEARLINE = "intel.disclosure-officer-releases-tearline"
RULE_WIDEN = "intel.disclosure-officer-widens-sensor"

#: Roles that file: operators and approvers always; exercise control in an exercise (synthetic feeds).
FILING_ROLES = frozenset({Role.OPERATOR, Role.APPROVER})
#: Most reports one scan may carry.
MAX_REPORTS = 20_000
#: How far ahead of the desk's clock an observation time may be (clock skew of a sensor).
FUTURE_SLACK = timedelta(minutes=5)

T = TypeVar("T")
E = TypeVar("E", bound=IntelEvent)


def filer_of(user: User) -> Filer:
    """Return the snapshot of a user that intelligence events record."""
    return Filer(user=user.id, organization=user.organization, nation=user.nation, role=str(user.role))


@dataclass(frozen=True, slots=True)
class _Keyed:
    """An earlier write made with an idempotency key: its stream, its event and its command digest."""

    stream: str
    seq: int
    digest: str | None


def _jsonable(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, frozenset | set):
        return sorted(str(v) for v in value)
    return str(value)


def _digest(user_id: str, key: str, command: str, args: dict[str, Any]) -> str:
    """Return the digest that binds an idempotency key to one user, command and set of arguments."""
    text = json.dumps(
        {"user": user_id, "key": key, "command": command, "args": args},
        sort_keys=True,
        separators=(",", ":"),
        default=_jsonable,
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ScanReceipt:
    """What a track report recorded: the sensor, the observation time, how many reports, the marking."""

    sensor: str
    time: datetime
    reports: int
    marking: Marking


class IntelDesk:
    """Runs intelligence commands against the store and keeps the view and the pictures current."""

    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock,
        crisis_marking: CrisisLookup,
        frame: Frame | None = None,
        params: FusionParams | None = None,
    ) -> None:
        """Open the desk on a store: the view is rebuilt from the whole log."""
        self.store = store
        self.clock = clock
        self.crisis_marking = crisis_marking
        self.view = IntelView(frame=frame or (params.frame if params else Frame(0.0, 0.0)))
        self.book = PictureBook(self.view, params or FusionParams(frame=self.view.frame))
        self._lock = threading.RLock()
        self._keys: dict[str, _Keyed] = {}
        self.catch_up()

    # -- following the log ------------------------------------------------------------------------------

    def catch_up(self) -> int:
        """Fold the events appended since the view was last current; return how many were intel events."""
        with self._lock:
            scans: set[str] = set()
            releases: set[str] = set()
            count = 0
            # Only intelligence events and keyed writes (a key is one write's everywhere, whichever
            # package wrote it): the coordination traffic beside them is not read at all.
            found, reached = self.store.scan(self.view.last_seq, INTEL_EVENT_TYPES, keyed=True)
            for stored in found:
                if stored.idempotency_key is not None:
                    digest = stored.payload.get("command_digest")
                    self._keys[stored.idempotency_key] = _Keyed(
                        stored.stream, stored.seq, digest if isinstance(digest, str) else None
                    )
                if stored.type not in INTEL_EVENT_TYPES:
                    continue
                event = intel_event_from_data(dict(stored.payload))
                self.view.apply(stored.seq, event)
                count += 1
                if isinstance(event, TracksReported):
                    scans.add(event.crisis)
                elif isinstance(event, SensorReleased):
                    releases.add(event.crisis)
            self.view.last_seq = max(self.view.last_seq, reached)
            for crisis in releases:
                self.book.released(crisis)
            for crisis in scans - releases:
                self.book.advance(crisis)
            return count

    def _earlier(
        self, user: User, key: str | None, command: str, args: dict[str, Any]
    ) -> AnyIntelEvent | None:
        """Return the event an earlier write with this key recorded (a retry), or None for a new key.

        Call it only after every id the command names was looked up for the user.

        Raises:
            InvalidQuery: The key was used for another write (another route, object or arguments).
        """
        if key is None:
            return None
        self.catch_up()
        with self._lock:
            earlier = self._keys.get(f"{user.id}:{key}")
        if earlier is None:
            return None
        if earlier.digest != _digest(user.id, key, command, args):
            raise InvalidQuery(
                f"Idempotency-Key {key!r} was already used for a different write (another route, object "
                "or body); a retry must repeat the same write exactly, and a new write needs a new key"
            )
        stored = next(e for e in self.store.read_stream(earlier.stream) if e.seq == earlier.seq)
        return intel_event_from_data(dict(stored.payload))

    def _append(
        self,
        stream: str,
        event: IntelEvent,
        *,
        user: User,
        key: str | None,
        expected: int | None,
        args: dict[str, Any],
    ) -> AnyIntelEvent:
        """Append one event (its key bound to the command and `args`), catch up, return what the log holds."""
        if key is not None:
            event = event.model_copy(update={"command_digest": _digest(user.id, key, event.type, args)})
        try:
            stored: Sequence[StoredEvent] = self.store.append(
                stream,
                [NewEvent(type=event.type, payload=intel_event_to_data(event), occurred_at=event.at)],
                expected_version=expected,
                idempotency_key=f"{user.id}:{key}" if key else None,
                actor=user.id,
                marking=event.marking.to_json(),
            )
        except ConflictError as error:
            if isinstance(error.current, int):
                raise ConflictError(f"{stream} exists", current={"stream": stream}) from error
            # The key was used meanwhile (a concurrent write): a retry of this write, or refused.
            replay = self._earlier(user, key, event.type, args)
            if replay is None:
                raise
            return replay
        self.catch_up()
        return intel_event_from_data(dict(stored[0].payload))

    # -- reading ----------------------------------------------------------------------------------------

    def sensors(self, user: User, crisis: str | None = None) -> list[SensorState]:
        """Return the sensors the user may know, in registration order."""
        with self._lock:  # the follower thread folds new events into the same dicts
            return [
                s
                for s in self.view.sensors.values()
                if (crisis is None or s.crisis == crisis) and s.visible_to(user)
            ]

    def sensor(self, user: User, sensor_id: str) -> SensorState:
        """Return a sensor the user may know, or raise NotFound."""
        with self._lock:
            sensor = self.view.sensors.get(sensor_id)
        if sensor is None or not sensor.visible_to(user):
            raise NotFound(f"no sensor {sensor_id!r}")
        return sensor

    def reports(self, user: User, crisis: str | None = None) -> list[IntelReport]:
        """Return the reports (and tearlines) the user may see, in filing order."""
        with self._lock:
            return [
                r
                for r in self.view.reports.values()
                if (crisis is None or r.crisis == crisis) and can_see(user, r.marking)
            ]

    def report(self, user: User, report_id: str) -> IntelReport:
        """Return a report the user may see, or raise NotFound."""
        with self._lock:
            report = self.view.reports.get(report_id)
        return _visible(user, report, "report", report_id)

    def decisions(self, user: User, crisis: str | None = None) -> list[ReleaseDecision]:
        """Return the release decisions whose record the user may see (the owner nation's)."""
        with self._lock:
            return [
                d
                for d in self.view.decisions.values()
                if (crisis is None or d.crisis == crisis) and can_see(user, d.marking)
            ]

    def audience(self, user: User, audience: Audience | None = None) -> Audience:
        """Return the audience whose picture the user reads: their own, or one they belong to.

        Raises:
            PermissionDenied: The user may not read the audience named (not of its nations, or not
                cleared to its level).
        """
        if audience is None:
            return Audience.of(user)
        if not audience.admits(user):
            raise PermissionDenied(f"{user.id} may not read the picture of audience {audience.key}")
        return audience

    def picture(self, user: User, crisis: str, audience: Audience | None = None) -> Picture:
        """Return the fused picture of a crisis for the user's audience (or one they belong to)."""
        self.crisis_marking(user, crisis)
        chosen = self.audience(user, audience)
        with self._lock:
            return self.book.picture(crisis, chosen)

    def subscribe(
        self, user: User, crisis: str, listener: PictureListener, audience: Audience | None = None
    ) -> Callable[[], None]:
        """Call `listener` with the user's picture each time it changes; return the remover."""
        self.crisis_marking(user, crisis)
        chosen = self.audience(user, audience)
        with self._lock:
            return self.book.subscribe(crisis, chosen, listener)

    # -- commands ---------------------------------------------------------------------------------------

    def register_sensor(
        self,
        user: User,
        crisis: str,
        *,
        sensor_id: str | None = None,
        name: str,
        kind: SensorKind,
        marking: Marking,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> SensorState:
        """Register a sensor of the user's nation in a crisis; its reports will carry `marking`.

        The marking is the owner's (the user's nation) and is narrowed to what the crisis releases. The
        desk chooses the sensor's id; a trusted caller (a feed, the demo's seed) may name it instead, as
        no answer to a user may tell whether an id is taken.
        """
        crisis_marking = self.crisis_marking(user, crisis)
        args = {
            "crisis": crisis,
            "sensor": sensor_id,
            "name": name,
            "kind": kind,
            "marking": marking,
            "description": description,
        }
        if (replay := self._earlier(user, idempotency_key, SensorRegistered.type_name(), args)) is not None:
            return self.sensor(user, _as(replay, SensorRegistered).sensor)
        _check_filer(user, crisis_marking)
        if not name.strip():
            raise InvalidQuery("a sensor needs a name")
        sensor_marking = _owned(user, marking, crisis_marking)
        if sensor_id is None:
            sensor_id = new_id("s")
        with self._lock:
            if sensor_id in self.view.sensors:
                raise ConflictError(f"sensor {sensor_id!r} exists", current={"sensor": sensor_id})
        event = SensorRegistered(
            at=self.clock(),
            actor=filer_of(user),
            rule=(RULE_REGISTER,),
            marking=sensor_marking,
            exercise=sensor_marking.exercise,
            crisis=crisis,
            sensor=sensor_id,
            name=name,
            kind=kind,
            description=description,
        )
        recorded = self._append(
            f"sensor:{sensor_id}", event, user=user, key=idempotency_key, expected=0, args=args
        )
        assert isinstance(recorded, SensorRegistered)
        return self.view.sensors[recorded.sensor]

    def report_tracks(
        self,
        user: User,
        sensor_id: str,
        *,
        time: datetime,
        reports: Sequence[PositionReport],
        restriction: Marking | None = None,
        idempotency_key: str | None = None,
    ) -> ScanReceipt:
        """Record a scan: positions a sensor of the user's nation observed at `time`.

        `restriction` narrows this scan's marking below the sensor's (it never widens it).
        """
        sensor = self.sensor(user, sensor_id)
        crisis_marking = self.crisis_marking(user, sensor.crisis)
        args = {"sensor": sensor_id, "time": time, "reports": list(reports), "restriction": restriction}
        if (replay := self._earlier(user, idempotency_key, TracksReported.type_name(), args)) is not None:
            scan = _as(replay, TracksReported)
            return ScanReceipt(scan.sensor, scan.time, len(scan.reports), scan.marking)
        _check_filer(user, crisis_marking)
        if sensor.nation != user.nation:
            raise PermissionDenied(
                f"sensor {sensor_id!r} is {sensor.nation}'s; {user.id} is of {user.nation}"
            )
        if time.tzinfo is None:
            raise InvalidQuery("the observation time needs a time zone (UTC)")
        if time > self.clock() + FUTURE_SLACK:
            raise InvalidQuery(f"the observation time {time.isoformat()} is in the future")
        if len(reports) > MAX_REPORTS:
            raise InvalidQuery(f"a scan carries at most {MAX_REPORTS} reports, got {len(reports)}")
        marking = sensor.marking_at(time)
        if restriction is not None:
            marking = combine(marking, restriction)
        if not can_see(user, marking):
            raise PermissionDenied(f"{user.id} could not see a scan marked {marking.banner()}")
        event = TracksReported(
            at=self.clock(),
            actor=filer_of(user),
            rule=(RULE_REPORT,),
            marking=marking,
            exercise=marking.exercise,
            crisis=sensor.crisis,
            sensor=sensor_id,
            time=time,
            reports=tuple(reports),
            restriction=restriction,
        )
        recorded = self._append(
            f"sensor:{sensor_id}", event, user=user, key=idempotency_key, expected=None, args=args
        )
        assert isinstance(recorded, TracksReported)
        return ScanReceipt(sensor_id, recorded.time, len(recorded.reports), recorded.marking)

    def file_report(
        self,
        user: User,
        crisis: str,
        *,
        title: str,
        text: str,
        reliability: Reliability,
        credibility: Credibility,
        marking: Marking,
        place: Place | None = None,
        observed_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> IntelReport:
        """File an intelligence report of the user's nation, graded on the Admiralty scale."""
        crisis_marking = self.crisis_marking(user, crisis)
        args = {
            "crisis": crisis,
            "title": title,
            "text": text,
            "reliability": reliability,
            "credibility": credibility,
            "marking": marking,
            "place": place,
            "observed_at": observed_at,
        }
        if (replay := self._earlier(user, idempotency_key, ReportFiled.type_name(), args)) is not None:
            return self.report(user, _as(replay, ReportFiled).report)
        _check_filer(user, crisis_marking)
        if not title.strip():
            raise InvalidQuery("a report needs a title")
        report_marking = _owned(user, marking, crisis_marking)
        event = ReportFiled(
            at=self.clock(),
            actor=filer_of(user),
            rule=(RULE_FILE,),
            marking=report_marking,
            exercise=report_marking.exercise,
            crisis=crisis,
            report=new_id("ir"),
            title=title,
            text=text,
            place=place,
            observed_at=observed_at,
            reliability=reliability,
            credibility=credibility,
        )
        recorded = self._append(
            f"intelreport:{event.report}", event, user=user, key=idempotency_key, expected=0, args=args
        )
        assert isinstance(recorded, ReportFiled)
        return self.view.reports[recorded.report]

    def release_tearline(
        self,
        officer: User,
        report_id: str,
        *,
        title: str,
        text: str,
        marking: Marking,
        reason: str,
        place: Place | None = None,
        observed_at: datetime | None = None,
        reliability: Reliability | None = None,
        credibility: Credibility | None = None,
        idempotency_key: str | None = None,
    ) -> IntelReport:
        """Release a sanitized copy of a report under `marking`: a disclosure officer's recorded decision.

        The copy holds only what the officer writes into it (title, text, place, time); the original
        keeps its marking. Only a disclosure officer of the owner nation decides, and says why.
        """
        original = self.report(officer, report_id)
        crisis_marking = self.crisis_marking(officer, original.crisis)
        args = {
            "report": report_id,
            "title": title,
            "text": text,
            "marking": marking,
            "reason": reason,
            "place": place,
            "observed_at": observed_at,
            "reliability": reliability,
            "credibility": credibility,
        }
        replay = self._earlier(officer, idempotency_key, TearlineReleased.type_name(), args)
        if replay is not None:
            return self.report(officer, _as(replay, TearlineReleased).tearline)
        _check_officer(officer, original.marking, reason)
        if not title.strip():
            raise InvalidQuery("a tearline needs a title")
        released = _owned(officer, marking, crisis_marking)
        event = TearlineReleased(
            at=self.clock(),
            actor=filer_of(officer),
            rule=(RULE_TEARLINE,),
            marking=original.marking,
            exercise=original.exercise or released.exercise,
            crisis=original.crisis,
            decision=new_id("rd"),
            report=original.id,
            tearline=new_id("ir"),
            title=title,
            text=text,
            place=place,
            observed_at=observed_at,
            reliability=reliability or original.reliability,
            credibility=credibility or original.credibility,
            released=released.model_copy(update={"exercise": released.exercise or original.exercise}),
            reason=reason,
        )
        recorded = self._append(
            f"release:{event.decision}", event, user=officer, key=idempotency_key, expected=0, args=args
        )
        assert isinstance(recorded, TearlineReleased)
        return self.view.reports[recorded.tearline]

    def widen_sensor(
        self,
        officer: User,
        sensor_id: str,
        *,
        marking: Marking,
        start: datetime,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ReleaseDecision:
        """Release a sensor's reports observed from `start` on under `marking`: a recorded decision.

        Pictures that may now see scans they could not are fused again from the start.
        """
        sensor = self.sensor(officer, sensor_id)
        crisis_marking = self.crisis_marking(officer, sensor.crisis)
        args = {"sensor": sensor_id, "marking": marking, "start": start, "reason": reason}
        if (replay := self._earlier(officer, idempotency_key, SensorReleased.type_name(), args)) is not None:
            decision = _as(replay, SensorReleased).decision
            with self._lock:
                return self.view.decisions[decision]
        _check_officer(officer, sensor.marking, reason)
        if start.tzinfo is None:
            raise InvalidQuery("the start of a release needs a time zone (UTC)")
        released = _owned(officer, marking, crisis_marking)
        event = SensorReleased(
            at=self.clock(),
            actor=filer_of(officer),
            rule=(RULE_WIDEN,),
            marking=sensor.marking,
            exercise=sensor.exercise,
            crisis=sensor.crisis,
            decision=new_id("rd"),
            sensor=sensor_id,
            released=released.model_copy(update={"exercise": released.exercise or sensor.exercise}),
            start=start,
            reason=reason,
        )
        recorded = self._append(
            f"release:{event.decision}", event, user=officer, key=idempotency_key, expected=0, args=args
        )
        assert isinstance(recorded, SensorReleased)
        return self.view.decisions[recorded.decision]


def _as(event: AnyIntelEvent, kind: type[E]) -> E:
    """Return the replayed event as the kind its command records (a digest match guarantees it)."""
    if not isinstance(event, kind):
        raise InvalidQuery(f"the idempotency key answers a {event.type}, not a {kind.type_name()}")
    return event


def _visible(user: User, obj: T | None, kind: str, object_id: str) -> T:
    if obj is None or not can_see(user, obj.marking):  # type: ignore[attr-defined]
        raise NotFound(f"no {kind} {object_id!r}")
    return obj


def _check_filer(user: User, crisis_marking: Marking) -> None:
    if user.role in FILING_ROLES or (user.role is Role.EXERCISE_CONTROL and crisis_marking.exercise):
        return
    raise PermissionDenied(
        f"{user.id} is {user.role.value!r}; filing needs an operator or approver "
        "(or exercise control, in an exercise)"
    )


def _check_officer(officer: User, original: Marking, reason: str) -> None:
    if officer.role is not Role.DISCLOSURE_OFFICER:
        raise PermissionDenied(
            f"{officer.id} is {officer.role.value!r}; releases are decided by a disclosure officer"
        )
    if original.owner != officer.nation:
        raise PermissionDenied(
            f"the information is {original.owner or 'jointly'} owned; a disclosure officer of "
            f"{officer.nation} releases only {officer.nation}'s information"
        )
    if not reason.strip():
        raise InvalidQuery("a release decision says why (reason)")


def _owned(user: User, marking: Marking, crisis_marking: Marking) -> Marking:
    """Return `marking` as the user's nation's, narrowed to what the crisis releases.

    Raises:
        InvalidQuery: The marking names another owner.
        PermissionDenied: The user could not see the result.
    """
    if marking.owner is not None and marking.owner != user.nation:
        raise InvalidQuery(f"{user.id} marks as {user.nation}, not {marking.owner}")
    owned = Marking(
        level=max(marking.level, crisis_marking.level, key=lambda level: level.rank),
        owner=user.nation,
        rel_to=(marking.rel_to | {user.nation}) & (crisis_marking.rel_to | {user.nation}),
        noforn=marking.noforn,
        exercise=marking.exercise or crisis_marking.exercise,
    )
    if not can_see(user, owned):
        raise PermissionDenied(f"{user.id} could not see an object marked {owned.banner()}")
    return owned
