"""Times as the console writes them: in the user's zone, in an organization's local time, and durations."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kizuna.web.i18n import Translator


def local(moment: datetime, zone: str) -> datetime:
    """Return `moment` in the IANA zone `zone`."""
    return moment.astimezone(ZoneInfo(zone))


def stamp(moment: datetime, zone: str) -> str:
    """Return `2026-11-30 19:36 JST`: a date, a time to the minute and the zone's abbreviation."""
    here = local(moment, zone)
    return f"{here:%Y-%m-%d %H:%M} {here.tzname()}"


def clock_time(moment: datetime, zone: str) -> str:
    """Return `19:36 JST`, or `(Mon) 00:36 HST` style when the day matters (the caller adds the day)."""
    here = local(moment, zone)
    return f"{here:%H:%M} {here.tzname()}"


def offset_hours(moment: datetime, zone: str, reference: str) -> float:
    """Return how many hours `zone` is ahead of `reference` at `moment` (Hawaii is -19 from Tokyo)."""
    a = local(moment, zone).utcoffset() or timedelta()
    b = local(moment, reference).utcoffset() or timedelta()
    return (a - b).total_seconds() / 3600


def duration(span: timedelta, t: Translator) -> str:
    """Return a span as `2 d 3 h`, `3 h 12 min` or `4 min` (in the user's language)."""
    minutes = int(abs(span).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("duration.dh", d=days, h=hours)
    if hours:
        return t("duration.hm", h=hours, m=mins)
    return t("duration.m", m=mins)
