"""Milestone clocks (时限): the several deadlines one work order runs at once.

A repair must be reached on site and have power back within minutes or hours, a complaint
must be answered by phone within a working day and replied to within seven, and a demand
from a government platform must meet that platform's own deadline.  Each is a clock with its
own deadline, warnings and timely flag (``WorkOrderClock``); which clocks a demand type runs,
and their allowances, are configured by administrators as data (``ClockTarget``).  The
arithmetic lives in ``app/workflow/clocks.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime

if TYPE_CHECKING:
    from app.models.workorder import WorkOrder


class ClockKind(LabeledEnum):
    CONTACT = ("contact", "First contact")
    ARRIVAL = ("arrival", "Arrival on site")
    RESTORATION = ("restoration", "Power restored")
    COMPLETION = ("completion", "Completion")
    SOURCE = ("source", "Source platform deadline")


class ClockUnit(LabeledEnum):
    MINUTES = ("minutes", "Minutes")
    HOURS = ("hours", "Hours")
    WORKING_DAYS = ("working_days", "Working days")


ANY_AREA = "any"


class ClockTarget(Model):
    """One allowance: demand type × clock (× area class) → amount in a unit.

    ``area_class`` is ``any`` or a grid's area class (urban / rural / remote); a row for the
    order's own area class wins over the ``any`` row.  ``round_the_clock`` targets (emergency
    repairs) count every minute; the others count working time on the statutory calendar.
    An inactive row switches that clock off for the demand type."""

    __tablename__ = "clock_target"
    __table_args__ = (
        UniqueConstraint("demand_type", "kind", "area_class", name="uq_clock_target_type_kind_area"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    demand_type: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    area_class: Mapped[str] = mapped_column(String(16), default=ANY_AREA)
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16), default=ClockUnit.WORKING_DAYS.value)
    round_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[Optional[str]] = mapped_column(String(255))

    def __repr__(self) -> str:
        return f"{self.demand_type}/{self.kind}/{self.area_class}: {self.amount} {self.unit}"


class WorkOrderClock(Model):
    """One clock of one order: its allowance (copied from the target when the order was
    registered, so later configuration changes never move an existing order), its deadline,
    when the milestone was met and whether that was in time."""

    __tablename__ = "work_order_clock"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", name="uq_work_order_clock_order_kind"),
        # The indicators: each clock's timely rate over the milestones met in a month.
        Index("ix_work_order_clock_kind_met", "kind", "met_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Optional[int]] = mapped_column(Integer)
    unit: Mapped[Optional[str]] = mapped_column(String(16))
    round_the_clock: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    met_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    timely: Mapped[Optional[bool]] = mapped_column(Boolean)

    order: Mapped["WorkOrder"] = relationship(back_populates="clocks")

    def __repr__(self) -> str:
        return f"{self.kind} {self.deadline}"
