"""The statutory calendar as data: which days are public holidays (法定节假日) and which
weekend days are make-up working days (调休上班), year by year.

Seeded from ``chinesecalendar`` for the years it covers; the State Council publishes each
year's arrangement in November or December, and administrators enter it in the browser (or
import a CSV).  A year is marked complete once its arrangement is entered: deadlines that
need a day of an incomplete year are computed Monday–Friday and marked provisional.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow


class DayKind(LabeledEnum):
    HOLIDAY = ("holiday", "Statutory holiday")
    WORKDAY = ("workday", "Make-up working day")


class CalendarYear(Model):
    """One year's arrangement: complete once administrators have entered it."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(32), default="admin")  # chinesecalendar | admin | csv
    completed_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    completed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return str(self.year)


class CalendarDay(Model):
    """A day that differs from the Monday–Friday rule, or a holiday on a weekend (kept so the
    arrangement reads as published)."""

    __tablename__ = "calendar_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_year.year", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[Optional[str]] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"{self.day.isoformat()} {self.kind}"
