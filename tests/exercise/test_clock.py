"""The exercise clock: a fold of the changes exercise control makes, so it can be rebuilt after a restart,
and the exercise time of any past action read back from its history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.errors import ConflictError, InvalidQuery
from kizuna.exercise import ClockAction, ClockHistory, ClockState, change

START = datetime(2027, 4, 6, 5, 0, tzinfo=UTC)
WALL = datetime(2030, 1, 1, tzinfo=UTC)


def test_start_pause_resume_speed_and_jump() -> None:
    state = ClockState(anchor=START)
    state = change(state, ClockAction.START, wall=WALL, speed=60)
    assert state.now(WALL + timedelta(minutes=1)) == START + timedelta(hours=1)
    paused = change(state, ClockAction.PAUSE, wall=WALL + timedelta(minutes=2))
    assert paused.now(WALL + timedelta(days=1)) == START + timedelta(hours=2), "a paused clock stands still"
    assert paused.wall_at(START + timedelta(hours=3)) is None
    resumed = change(paused, ClockAction.RESUME, wall=WALL + timedelta(minutes=10))
    assert resumed.now(WALL + timedelta(minutes=11)) == START + timedelta(hours=3)
    faster = change(resumed, ClockAction.SPEED, wall=WALL + timedelta(minutes=11), speed=3600)
    assert faster.now(WALL + timedelta(minutes=11, seconds=2)) == START + timedelta(hours=5)
    assert faster.wall_at(START + timedelta(hours=5)) == WALL + timedelta(minutes=11, seconds=2)
    jumped = change(faster, ClockAction.JUMP, wall=WALL + timedelta(minutes=12), to=START + timedelta(days=2))
    assert jumped.now(WALL + timedelta(minutes=12)) == START + timedelta(days=2)


def test_changes_that_do_not_fit_are_refused_with_the_reason() -> None:
    fresh = ClockState(anchor=START)
    with pytest.raises(ConflictError, match="start the clock before"):
        change(fresh, ClockAction.PAUSE, wall=WALL)
    running = change(fresh, ClockAction.START, wall=WALL)
    with pytest.raises(ConflictError, match="already started"):
        change(running, ClockAction.START, wall=WALL)
    with pytest.raises(ConflictError, match="already running"):
        change(running, ClockAction.RESUME, wall=WALL)
    with pytest.raises(InvalidQuery, match="outside 1x-3600x"):
        change(running, ClockAction.SPEED, wall=WALL, speed=7200)
    with pytest.raises(InvalidQuery, match="names the exercise time"):
        change(running, ClockAction.JUMP, wall=WALL)
    with pytest.raises(InvalidQuery, match="aware"):
        change(running, ClockAction.JUMP, wall=WALL, to=datetime(2027, 4, 7))  # noqa: DTZ001


_ACTIONS = st.sampled_from([ClockAction.PAUSE, ClockAction.RESUME, ClockAction.SPEED, ClockAction.JUMP])


@settings(max_examples=200, deadline=None)
@given(
    steps=st.lists(
        st.tuples(_ACTIONS, st.floats(1, 600), st.floats(1, 3600), st.floats(0, 48)), min_size=1, max_size=12
    ),
    probes=st.lists(st.floats(0, 7200), min_size=1, max_size=20),
)
def test_the_history_reads_back_every_past_moment_and_only_jumps_move_time_back(
    steps: list[tuple[ClockAction, float, float, float]], probes: list[float]
) -> None:
    state = change(ClockState(anchor=START), ClockAction.START, wall=WALL, speed=60)
    history = ClockHistory(ClockState(anchor=START), [state])
    wall = WALL
    for action, gap, speed, hours in steps:
        wall += timedelta(seconds=gap)
        try:
            new = change(state, action, wall=wall, speed=speed, to=START + timedelta(hours=hours))
        except ConflictError:
            continue  # pausing a paused clock and the like: refused, nothing changes
        history.add(new)
        state = new
    # Read back: at each change's own moment the history gives the state's anchor (serialization too).
    for s in history.states:
        assert s.anchor_wall is not None
        assert ClockState.model_validate_json(s.model_dump_json()) == s
    # Exercise time never runs backwards between changes (only a jump sets it).
    for a, b in zip(sorted(probes), sorted(probes)[1:], strict=False):
        wa, wb = WALL + timedelta(seconds=a), WALL + timedelta(seconds=b)
        k = [s.anchor_wall for s in history.states]
        if sum(1 for w in k if w is not None and wa < w <= wb) == 0:
            assert history.at(wa) <= history.at(wb)
