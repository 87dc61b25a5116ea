"""Duty hours as sorted open intervals on the scenario clock, so "when can work start?" is one searchsorted.

An office-hours organization works from `open` to `close` local time on its working days. The calendar
turns that into absolute intervals (scenario hours) once, using the site's IANA time zone (or a fixed UTC
offset), so daylight saving time and the date line are handled by `zoneinfo`, not by the engine. Every
local opening and closing is converted to UTC before it is subtracted from the start: Python subtracts
two datetimes that share one `ZoneInfo` as wall-clock times, which would put every opening after a clock
change an hour off. A local time that does not exist (skipped when clocks go forward) or exists twice
(when they go back) is read with `fold=0` (PEP 495): the offset in force before the change. Times beyond
the calendar's span (three years after the start) count as on duty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from kizuna.model.scenario import DutyHours

FloatArray = npt.NDArray[np.float64]

_DAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_SPAN_DAYS = 3 * 366
_BEFORE_DAYS = 8


@dataclass(frozen=True)
class DutyCalendar:
    """Open intervals [opens[i], closes[i]) in scenario hours, sorted and disjoint."""

    opens: FloatArray
    closes: FloatArray

    @classmethod
    def build(cls, duty: DutyHours, zone: str | tzinfo, start: datetime) -> DutyCalendar | None:
        """Return the calendar of office hours in `zone`, or None for a 24/7 watch.

        `zone` is an IANA name or a tzinfo (a `ZoneInfo`, or a fixed offset such as `timezone(9 h)`);
        `start` is the aware date-time of scenario hour 0.
        """
        if duty.always:
            return None
        tz = ZoneInfo(zone) if isinstance(zone, str) else zone
        zero = start.astimezone(UTC)
        hour = timedelta(hours=1)
        first = (start.astimezone(tz) - timedelta(days=_BEFORE_DAYS)).date()
        days = {_DAY_INDEX[d] for d in duty.days}
        opens: list[float] = []
        closes: list[float] = []
        for k in range(_SPAN_DAYS + _BEFORE_DAYS):
            day = first + timedelta(days=k)
            if day.weekday() not in days:
                continue
            o = (datetime.combine(day, duty.open, tzinfo=tz).astimezone(UTC) - zero) / hour
            c = (datetime.combine(day, duty.close, tzinfo=tz).astimezone(UTC) - zero) / hour
            if c > o:  # hours that lie wholly in a skipped hour (clocks going forward) are no hours
                opens.append(o)
                closes.append(c)
        return cls(np.array(opens), np.array(closes))

    def next_open(self, t: FloatArray) -> FloatArray:
        """Return, element-wise, `t` if on duty at `t`, else the next opening (inf stays inf)."""
        idx = np.searchsorted(self.closes, t, side="right")
        beyond = idx >= self.opens.size
        opening = self.opens[np.minimum(idx, self.opens.size - 1)]
        out = np.maximum(t, opening)
        return np.where(beyond, t, out)

    def on_duty(self, t: float) -> bool:
        """Tell whether the organization is on duty at scenario hour `t`."""
        return bool(self.next_open(np.array([t]))[0] == t)
