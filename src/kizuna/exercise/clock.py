"""The exercise clock: exercise time as a function of wall time, set by exercise control.

Exercise control starts the clock (at the scenario's hour 0, or another time), pauses and resumes it,
changes its speed (1x to 3600x) and jumps it to a time. Each change is an event that records the whole
resulting state: from that wall-clock moment (`anchor_wall`) exercise time runs from `anchor` at `speed`
(or stands still while paused). The state is therefore a pure fold of the events: a restarted server
reads the same state back, and the exercise time of any past wall-clock moment (an action in the log)
is found from the state in force then (`ClockHistory.at`).

A running clock keeps running through a restart of the server: it is anchored to the wall clock, as a
wall clock in the exercise room would be. Injects that fell due meanwhile are delivered when the server
is back.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from kizuna.errors import ConflictError, InvalidQuery

#: The slowest and fastest speeds the clock runs at (exercise seconds per wall-clock second).
MIN_SPEED = 1.0
MAX_SPEED = 3600.0


class ClockAction(StrEnum):
    """What exercise control does to the clock."""

    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    SPEED = "speed"
    JUMP = "jump"


class ClockState(BaseModel):
    """Where the exercise clock stands since `anchor_wall`: exercise time `anchor`, running at `speed`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    started: bool = False
    running: bool = False
    speed: float = Field(default=1.0, ge=MIN_SPEED, le=MAX_SPEED)
    anchor: datetime = Field(description="Exercise time at `anchor_wall` (aware).")
    anchor_wall: datetime | None = Field(default=None, description="Wall-clock time of the last change.")

    def now(self, wall: datetime) -> datetime:
        """Return the exercise time at a wall-clock moment (at or after the last change)."""
        if not self.running or self.anchor_wall is None:
            return self.anchor
        return self.anchor + (wall - self.anchor_wall) * self.speed

    def wall_at(self, exercise: datetime) -> datetime | None:
        """Return when, on the wall clock, the clock reaches `exercise` (None while paused).

        A time already passed gives a moment in the past.
        """
        if not self.running or self.anchor_wall is None:
            return None
        return self.anchor_wall + (exercise - self.anchor) / self.speed

    def hours(self, wall: datetime, start: datetime) -> float:
        """Return the exercise time at a wall-clock moment as hours after the exercise's start."""
        return (self.now(wall) - start) / timedelta(hours=1)


def change(
    state: ClockState,
    action: ClockAction,
    *,
    wall: datetime,
    speed: float | None = None,
    to: datetime | None = None,
) -> ClockState:
    """Decide a change of the clock at wall time `wall`; return the new state.

    Raises:
        InvalidQuery: a speed outside 1x-3600x, a jump without a time (or with a naive one), or a
            change that needs arguments it was not given.
        ConflictError: the change does not fit the state (pausing a paused clock, starting twice,
            anything before the start).
    """
    if speed is not None and not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidQuery(f"speed {speed:g}x is outside {MIN_SPEED:g}x-{MAX_SPEED:g}x")
    if to is not None and to.tzinfo is None:
        raise InvalidQuery("a jump names an aware time (with its UTC offset)")
    current = state.model_dump()
    if action is ClockAction.START:
        if state.started:
            raise ConflictError("the clock is already started", current=current)
        return ClockState(
            started=True,
            running=True,
            speed=speed if speed is not None else state.speed,
            anchor=to if to is not None else state.anchor,
            anchor_wall=wall,
        )
    if not state.started:
        raise ConflictError(f"start the clock before you {action.value} it", current=current)
    now = state.now(wall)
    if action is ClockAction.PAUSE:
        if not state.running:
            raise ConflictError("the clock is already paused", current=current)
        return state.model_copy(update={"running": False, "anchor": now, "anchor_wall": wall})
    if action is ClockAction.RESUME:
        if state.running:
            raise ConflictError("the clock is already running", current=current)
        return state.model_copy(update={"running": True, "anchor": now, "anchor_wall": wall})
    if action is ClockAction.SPEED:
        if speed is None:
            raise InvalidQuery("a change of speed names the speed")
        return state.model_copy(update={"speed": speed, "anchor": now, "anchor_wall": wall})
    if to is None:
        raise InvalidQuery("a jump names the exercise time to jump to")
    return state.model_copy(update={"anchor": to, "anchor_wall": wall})


class ClockHistory:
    """Every state the clock has been in, to find the exercise time of any past wall-clock moment."""

    def __init__(self, initial: ClockState, changes: Sequence[ClockState] = ()) -> None:
        """Start from the state before the clock was started, with the changes so far (in order)."""
        self.initial = initial
        self.states: list[ClockState] = list(changes)
        self._walls = [s.anchor_wall for s in self.states if s.anchor_wall is not None]

    def add(self, state: ClockState) -> None:
        """Record a change (the changes come in log order, so their wall times do not go back)."""
        assert state.anchor_wall is not None
        self.states.append(state)
        self._walls.append(state.anchor_wall)

    @property
    def current(self) -> ClockState:
        """The state in force now."""
        return self.states[-1] if self.states else self.initial

    def at(self, wall: datetime) -> datetime:
        """Return the exercise time at a past wall-clock moment (before the start: the start time)."""
        k = bisect.bisect_right(self._walls, wall) - 1
        if k < 0:
            return self.initial.anchor
        return self.states[k].now(wall)
