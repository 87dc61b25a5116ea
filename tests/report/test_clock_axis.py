"""The Gantt chart's clock axis reads scenario hours on the start's clock, across a clock change."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

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
    top = main.child_axes[0]
    labels = dict(zip(top.get_xticks(), (t.get_text() for t in top.get_xticklabels()), strict=True))
    assert labels[0.0] == "Sat 12:00"
    assert labels[10.0] == "Sat 22:00"
    assert labels[15.0] == "Sun 04:00"
    assert labels[25.0] == "Sun 14:00"
    assert top.get_xlabel() == "local time (America/New_York)"  # not "EST", which ends at 02:00 Sunday
