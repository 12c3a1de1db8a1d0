"""Working time on the Chinese statutory calendar.

A working day counts whole (24 h); statutory holidays and weekends don't, and make-up
working days (调休, e.g. a Saturday before National Day) do.  Deadlines are "received time
plus N working days (or hours)", and a suspension pushes the deadline by the working time
it covered, so the same arithmetic serves every clock in the product.

Which days are holidays is data (``calendar_year`` / ``calendar_day``, see
``app/models/calendar.py``): ``configure`` installs a loader of one year's arrangement, and
each year is cached for a short time per process (an administrator's edit reaches every
worker within ``CALENDAR_CACHE_SECONDS``; the editing process drops its cache at once).  A year
with no arrangement entered counts Monday–Friday, and deadlines that need one of its days are
provisional (``is_provisional``).  Without a loader (a bare import) the arrangement comes from
the ``chinesecalendar`` package, the seed of the table.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass
from typing import Callable

from app.clock import LOCAL_TZ

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class YearArrangement:
    """One year's statutory arrangement: holidays, make-up working days, and whether it is
    complete (entered as published) or still missing."""

    year: int
    complete: bool
    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()


def _package_arrangement(year: int) -> YearArrangement:
    from app.workflow.calendar_data import package_arrangements

    entries = package_arrangements().get(year)
    if entries is None:
        return YearArrangement(year, False)
    return YearArrangement(year, True, frozenset(d for d, kind, _ in entries if kind == "holiday"),
                           frozenset(d for d, kind, _ in entries if kind == "workday"))


_loader: Callable[[int], YearArrangement] = _package_arrangement
_cache: dict[int, tuple[float, YearArrangement]] = {}
_cache_seconds = 60.0
_lock = threading.Lock()


def configure(loader: Callable[[int], YearArrangement] | None, cache_seconds: float = 60.0) -> None:
    """Install the loader of a year's arrangement (the application's: from the database)."""
    global _loader, _cache_seconds
    with _lock:
        _loader = loader or _package_arrangement
        _cache_seconds = cache_seconds
        _cache.clear()


def invalidate(year: int | None = None) -> None:
    """Forget the cached arrangement (of one year, or all): the next reading loads it."""
    with _lock:
        if year is None:
            _cache.clear()
        else:
            _cache.pop(year, None)


def arrangement(year: int) -> YearArrangement:
    # time.monotonic, not the business clock: this is a cache's age, not a business time.
    cached = _cache.get(year)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    loaded = _loader(year)
    with _lock:
        _cache[year] = (time.monotonic() + _cache_seconds, loaded)
    return loaded


def is_working_day(day: dt.date) -> bool:
    year = arrangement(day.year)
    if day in year.workdays:
        return True
    if day in year.holidays:
        return False
    # A weekend day, or any day of a year whose arrangement is missing: plain Monday–Friday.
    return day.weekday() < 5


def year_complete(year: int) -> bool:
    return arrangement(year).complete


def is_provisional(start: dt.datetime, end: dt.datetime | None) -> bool:
    """Whether working time counted from ``start`` to ``end`` used a day of a year whose
    arrangement is missing (the result may move once that year is entered)."""
    if end is None:
        return False
    first, last = sorted((_local(start).year, _local(end).year))
    return any(not year_complete(year) for year in range(first, last + 1))


def _local(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("aware datetime required")
    return moment.astimezone(LOCAL_TZ)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_TZ)


def add_working_time(start: dt.datetime, amount: dt.timedelta) -> dt.datetime:
    """The moment when ``amount`` of working time has passed after ``start``."""
    if amount < dt.timedelta(0):
        raise ValueError("negative working time")
    current = _local(start)
    remaining = amount
    while True:
        day = current.date()
        if not is_working_day(day):
            current = _day_start(day + DAY)
            continue
        day_end = _day_start(day + DAY)
        left_today = day_end - current
        if remaining <= left_today:
            return (current + remaining).astimezone(dt.timezone.utc)
        remaining -= left_today
        current = day_end


def add_working_days(start: dt.datetime, days: int) -> dt.datetime:
    return add_working_time(start, dt.timedelta(days=days))


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    return add_working_time(start, dt.timedelta(hours=hours))


def working_time_between(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time inside [start, end); zero when end is not after start."""
    if end <= start:
        return dt.timedelta(0)
    current, stop = _local(start), _local(end)
    total = dt.timedelta(0)
    while current < stop:
        day_end = _day_start(current.date() + DAY)
        segment_end = min(day_end, stop)
        if is_working_day(current.date()):
            total += segment_end - current
        current = segment_end
    return total
