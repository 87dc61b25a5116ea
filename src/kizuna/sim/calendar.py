"""Duty hours as sorted open intervals on the scenario clock, so "when can work start?" is one searchsorted.

An office-hours organization works from `open` to `close` local time on its working days. The calendar
turns that into absolute intervals (scenario hours) once, using the site's IANA time zone, so daylight
saving time and the date line are handled by `zoneinfo`, not by the engine. Times beyond the calendar's
span (three years after the start) count as on duty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
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
    def build(cls, duty: DutyHours, zone: str, start: datetime) -> DutyCalendar | None:
        """Return the calendar of office hours in `zone`, or None for a 24/7 watch."""
        if duty.always:
            return None
        tz = ZoneInfo(zone)
        first = (start.astimezone(tz) - timedelta(days=_BEFORE_DAYS)).date()
        days = {_DAY_INDEX[d] for d in duty.days}
        opens: list[float] = []
        closes: list[float] = []
        for k in range(_SPAN_DAYS + _BEFORE_DAYS):
            day = first + timedelta(days=k)
            if day.weekday() not in days:
                continue
            o = datetime.combine(day, duty.open, tzinfo=tz)
            c = datetime.combine(day, duty.close, tzinfo=tz)
            opens.append((o - start) / timedelta(hours=1))
            closes.append((c - start) / timedelta(hours=1))
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
