"""Office hours on the scenario clock: openings at the right local time across daylight saving changes.

A calendar turns "09:00 to 18:00 local, Monday to Friday" into intervals of scenario hours. Every local
time is converted to UTC before subtracting the start: two datetimes sharing one `ZoneInfo` subtract as
wall-clock times in Python, which put every opening after a clock change an hour off (issue 8, item 14).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.model.scenario import DutyHours, local_time
from kizuna.sim.calendar import DutyCalendar

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = DutyHours(hours="office", open=time(9, 0), close=time(17, 0))


def calendar(duty: DutyHours, zone: str | timezone | ZoneInfo, start: datetime) -> DutyCalendar:
    cal = DutyCalendar.build(duty, zone, start)
    assert cal is not None
    return cal


def openings_after(cal: DutyCalendar, hours: float = 0.0) -> list[float]:
    return [float(o) for o in cal.opens if o >= hours]


@pytest.mark.parametrize(
    ("start", "monday_open", "utc_hour"),
    [
        # Friday 12 Mar 2027, 00:00 EST (05:00 UTC). Clocks go forward on Sunday 14 Mar, so Monday's
        # 09:00 EDT is 13:00 UTC: 3 days and 8 hours after the start (the bug said 81: 10:00 EDT).
        (datetime(2027, 3, 12, tzinfo=NEW_YORK), 80.0, 13),
        # Friday 5 Nov 2027, 00:00 EDT (04:00 UTC). Clocks go back on Sunday 7 Nov, so Monday's 09:00 EST
        # is 14:00 UTC: 3 days and 10 hours after the start (the bug said 81: 08:00 EST).
        (datetime(2027, 11, 5, tzinfo=NEW_YORK), 82.0, 14),
    ],
)
def test_a_new_york_office_opens_at_nine_local_after_both_clock_changes(
    start: datetime, monday_open: float, utc_hour: int
) -> None:
    cal = calendar(OFFICE, "America/New_York", start)
    assert openings_after(cal)[:3] == [9.0, monday_open, monday_open + 24.0]
    # Monday's opening is 09:00 on the New York clock and at the expected UTC hour.
    monday = local_time(start, monday_open)
    assert (monday.weekday(), monday.time()) == (0, time(9, 0))
    assert monday.astimezone(UTC).hour == utc_hour
    # A step arriving on Friday evening waits for Monday 09:00 local time, not 08:00 or 10:00.
    assert cal.next_open(np.array([20.0]))[0] == monday_open
    assert not cal.on_duty(monday_open - 0.5)
    assert cal.on_duty(monday_open)
    # Monday closes at 17:00 local: eight hours later (the day itself has no clock change).
    assert cal.closes[list(cal.opens).index(monday_open)] == monday_open + 8.0


ZONES = [
    "America/New_York",  # northern-hemisphere daylight saving
    "Europe/London",
    "Australia/Sydney",  # southern hemisphere: clocks change in April and October
    "Pacific/Chatham",  # a 45-minute offset with daylight saving
    "America/St_Johns",  # a half-hour offset with daylight saving
    "Asia/Tokyo",  # none
    "Pacific/Honolulu",
]


@settings(max_examples=40, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    day=st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    start_minute=st.integers(0, 24 * 60 - 1),
    open_minute=st.integers(5 * 60, 12 * 60),
    length=st.integers(30, 11 * 60),
)
def test_every_opening_reads_the_opening_time_on_the_local_clock(
    zone: str, day: date, start_minute: int, open_minute: int, length: int
) -> None:
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time(start_minute // 60, start_minute % 60), tzinfo=tz)
    opens = time(open_minute // 60, open_minute % 60)
    close_minute = open_minute + length
    duty = DutyHours(hours="office", open=opens, close=time(close_minute // 60, close_minute % 60))
    cal = calendar(duty, zone, start)
    seen: list[date] = []
    for o, c in zip(cal.opens, cal.closes, strict=True):
        if not 0.0 <= o <= 24.0 * 400:  # more than a year: both changes of every zone with them
            continue
        at, until = local_time(start, float(o)), local_time(start, float(c))
        assert at.time() == opens
        assert at.weekday() < 5
        assert (until.date(), until.time()) == (at.date(), duty.close)
        seen.append(at.date())
    # Every working day in the window has its opening, once.
    first, last = seen[0], seen[-1]
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    assert seen == [d for d in days if d.weekday() < 5]


def test_a_fixed_offset_keeps_office_hours_on_that_offset_all_year() -> None:
    start = datetime(2027, 3, 12, 17, 30, tzinfo=timezone(timedelta(hours=9)))  # Friday 17:30 in Tokyo
    fixed = calendar(DutyHours(hours="office"), timezone(timedelta(hours=9)), start)
    tokyo = calendar(DutyHours(hours="office"), "Asia/Tokyo", start)  # Japan keeps no daylight saving
    assert np.array_equal(fixed.opens, tokyo.opens)
    assert np.array_equal(fixed.closes, tokyo.closes)
    assert fixed.on_duty(0.0)  # 17:30 is before the 18:00 close
    assert fixed.next_open(np.array([1.0]))[0] == 63.5  # 18:30 Friday waits for Monday 09:00
    # A fixed UTC-05:00 does not follow New York across 14 March: 09:00-05:00 is 14:00 UTC every day.
    winter = datetime(2027, 3, 12, tzinfo=timezone(timedelta(hours=-5)))
    est = calendar(OFFICE, timezone(timedelta(hours=-5)), winter)
    assert openings_after(est)[:2] == [9.0, 81.0]


def test_local_times_skipped_by_a_clock_change_are_read_on_the_offset_before_it() -> None:
    # On Sunday 14 Mar 2027 New York's clocks jump from 02:00 to 03:00: 02:00-02:45 does not exist that
    # day. Read with the offset before the change (PEP 495, fold=0), the office works 03:00-03:45 EDT.
    start = datetime(2027, 3, 1, tzinfo=NEW_YORK)
    early = calendar(
        DutyHours(hours="office", open=time(2, 0), close=time(2, 45), days="sun"), NEW_YORK, start
    )
    sundays = {local_time(start, float(o)).date(): local_time(start, float(o)).time() for o in early.opens}
    assert sundays[date(2027, 3, 7)] == time(2, 0)
    assert sundays[date(2027, 3, 14)] == time(3, 0)
    assert sundays[date(2027, 3, 21)] == time(2, 0)
    # 02:30-03:00 would open (07:30 UTC) after it closes (03:00 EDT, 07:00 UTC): no hours that day.
    late = calendar(
        DutyHours(hours="office", open=time(2, 30), close=time(3, 0), days="sun"), NEW_YORK, start
    )
    days = {local_time(start, float(o)).date() for o in late.opens}
    assert {date(2027, 3, 7), date(2027, 3, 21)} <= days
    assert date(2027, 3, 14) not in days
    for cal in (early, late):
        assert bool(np.all(cal.closes > cal.opens))
        assert bool(np.all(cal.opens[1:] > cal.closes[:-1]))
