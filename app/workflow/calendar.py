"""Working time on the Chinese statutory calendar.

A working day counts whole (24 h); statutory holidays and weekends don't, and make-up
working days (调休, e.g. a Saturday before National Day) do.  Deadlines are "received time
plus N working days (or hours)", and a suspension pushes the deadline by the working time
it covered, so the same arithmetic serves every clock in the product.
"""

from __future__ import annotations

import datetime as dt
import chinese_calendar

from app.clock import LOCAL_TZ
DAY = dt.timedelta(days=1)


def is_working_day(day: dt.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Outside the years the package knows: plain Monday–Friday.
        return day.weekday() < 5


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
