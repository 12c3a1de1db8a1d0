"""Periods in local time (Asia/Shanghai): a month is local midnight of the 1st to the next."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from app import clock
from app.workflow.calendar import LOCAL_TZ
from app.workflow.errors import InvalidInput


@dataclass(frozen=True)
class Period:
    start: dt.datetime  # aware, inclusive
    end: dt.datetime  # aware, exclusive
    label: str

    def previous_month(self) -> "Period":
        local = self.start.astimezone(LOCAL_TZ)
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        return month_period(year, month)

    def local_days(self) -> list[dt.date]:
        first = self.start.astimezone(LOCAL_TZ).date()
        last = (self.end - dt.timedelta(seconds=1)).astimezone(LOCAL_TZ).date()
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def month_period(year: int, month: int) -> Period:
    start = dt.datetime(year, month, 1, tzinfo=LOCAL_TZ)
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=LOCAL_TZ)
    return Period(start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc),
                  f"{year:04d}-{month:02d}")


def parse_month(text: str | None, now: dt.datetime | None = None) -> Period:
    """``YYYY-MM`` → that month; empty → the current local month."""
    if not text:
        local = (now or clock.now()).astimezone(LOCAL_TZ)
        return month_period(local.year, local.month)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput(f"month must be YYYY-MM, not {text!r}", field="month")
    return month_period(int(match.group(1)), int(match.group(2)))
