"""The Gantt chart's time axis reads scenario hours on the start's clock, across a clock change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from matplotlib import dates as mdates

from kizuna.report.simulation import gantt_figure
from kizuna.sim.result import GanttBar


def bar(step: str, begin: float, end: float) -> GanttBar:
    return GanttBar("r", "r", step, step, "desk", "execute", begin, begin, begin, end, True)


def test_clock_labels_after_a_daylight_saving_change_show_the_new_local_time() -> None:
    # Saturday 13 Mar 2027 12:00 EST; New York springs forward at 02:00 on Sunday, so 15 elapsed hours
    # later it is Sunday 04:00 EDT (adding 15 h to the wall clock would say 03:00).
    start = datetime(2027, 3, 13, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    fig = gantt_figure([bar("a", 0.0, 20.0), bar("b", 20.0, 40.0)], title="t", start=start)
    main, *_ = fig.axes
    label = main.xaxis.get_major_formatter()

    def at(hours: float) -> str:
        elapsed = start.astimezone(UTC) + timedelta(hours=hours)
        return str(label(float(mdates.date2num(elapsed)), 0))

    assert at(0.0) == "Sat 12:00"
    assert at(10.0) == "Sat 22:00"
    assert at(15.0) == "Sun 04:00"
    assert at(25.0) == "Sun 14:00"
    # The second bar begins 20 elapsed hours in, at Sunday 09:00 EDT: drawn there, not an hour late.
    first, second = (p.get_x() for p in main.patches[-2:])
    assert mdates.num2date(second, tz=start.tzinfo).strftime("%a %H:%M") == "Sun 09:00"
    assert mdates.num2date(first, tz=start.tzinfo).strftime("%a %H:%M") == "Sat 12:00"
    assert "America/New_York" in main.get_xlabel()  # not "EST", which ends at 02:00 Sunday
