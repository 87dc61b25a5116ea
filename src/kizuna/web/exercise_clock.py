"""The exercise clock as the console shows it in every page's top bar, and exercise times written as
designers write them (`D+1 06:00`, `H+25.0`).

The server renders the clock's state (anchor, wall-clock anchor, speed, running) and its own wall time;
`static/js/exercise-clock.js` runs the time on between changes, and a change of the clock (an
`exercise-clock` event on the stream) re-renders the slot. Which exercise is shown: the one the page is
about, else the latest started exercise the user may see, else the latest they may see. Nothing of an
exercise the user may not see is read (`Exercises.visible` applies the egress rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from kizuna.access import User
from kizuna.exercise import Exercises, ExerciseState


def day_time(moment: datetime, start: datetime, zone: tzinfo) -> str:
    """Return an exercise time as `D+1 06:00` in the exercise's zone (D+0 is the start's date there)."""
    here = moment.astimezone(zone)
    day = (here.date() - start.astimezone(zone).date()).days
    return f"D{day:+d} {here:%H:%M}"


def hours_label(moment: datetime, start: datetime) -> str:
    """Return an exercise time as hours and minutes after the start: `H+25:30`."""
    minutes = int((moment - start) / timedelta(minutes=1))
    sign = "-" if minutes < 0 else "+"
    hours, mins = divmod(abs(minutes), 60)
    return f"H{sign}{hours}:{mins:02d}"


@dataclass(frozen=True, slots=True)
class ClockView:
    """An exercise's clock as the top bar shows it (and the data its script runs it on with)."""

    exercise: str
    name: str
    started: bool
    running: bool
    speed: float
    now: datetime
    start: datetime
    zone: tzinfo
    anchor: datetime
    anchor_wall: datetime | None
    server_time: datetime

    @property
    def day_time(self) -> str:
        """The exercise time now as `D+1 06:00`."""
        return day_time(self.now, self.start, self.zone)

    @property
    def state(self) -> str:
        """`waiting` (not started), `running` or `paused`."""
        if not self.started:
            return "waiting"
        return "running" if self.running else "paused"

    @property
    def data(self) -> dict[str, str]:
        """The attributes the page's clock script runs the time on with (`data-*`, for `xmlattr`)."""
        return {
            "data-exercise-clock": "",
            "data-exercise": self.exercise,
            "data-running": "true" if self.running else "false",
            "data-speed": f"{self.speed:g}",
            "data-anchor": self.anchor.isoformat(),
            "data-anchor-wall": self.anchor_wall.isoformat() if self.anchor_wall else "",
            "data-server": self.server_time.isoformat(),
            "data-start": self.start.isoformat(),
            "data-zone": self.zone_name,
            "data-offset": str(self.offset_minutes),
        }

    @property
    def zone_name(self) -> str:
        """The exercise's IANA zone for the script ('' for a fixed offset: see `offset_minutes`)."""
        return self.zone.key if isinstance(self.zone, ZoneInfo) else ""

    @property
    def offset_minutes(self) -> int:
        """The zone's UTC offset at the start, in minutes (the script's fallback for a fixed offset)."""
        offset = self.start.astimezone(self.zone).utcoffset() or timedelta()
        return int(offset / timedelta(minutes=1))

    @property
    def hours(self) -> str:
        """The exercise time now as `H+25:30`."""
        return hours_label(self.now, self.start)


def clock_view(state: ExerciseState, wall: datetime) -> ClockView:
    """Return the clock of an exercise at wall time `wall`."""
    current = state.clock.current
    return ClockView(
        exercise=state.id,
        name=state.name,
        started=current.started,
        running=current.running,
        speed=current.speed,
        now=current.now(wall),
        start=state.start,
        zone=state.scenario.zone,
        anchor=current.anchor,
        anchor_wall=current.anchor_wall,
        server_time=wall,
    )


def shown_clock(
    exercises: Exercises | None, user: User, about: str | None, wall: datetime
) -> ClockView | None:
    """Return the clock a page shows `user`: of the exercise it is about, else the latest started one."""
    if exercises is None:
        return None
    visible = exercises.visible(user)
    if not visible:
        return None
    chosen = next((e for e in visible if e.id == about), None)
    if chosen is None:
        started = [e for e in visible if e.clock.current.started]
        chosen = max(started or visible, key=lambda e: e.created_at)
    return clock_view(chosen, wall)
