"""The work-point ledger (工分): one row per award or deduction, naming what produced it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, UTCDateTime, utcnow
from app.models.org import StaffProfile


class WorkPointEntry(Model):
    """Points earned (positive) or deducted (negative) by a member of staff.

    ``source_type``/``source_id`` name the record that earned them (a work order, a visit,
    an on-site record, an inspection…); ``rule_set``/``rule_name`` the rule that decided the
    amount, so every point can be explained.  Entries are never edited: a correction is a
    new entry.
    """

    __tablename__ = "work_point_entry"
    __table_args__ = (
        Index("ix_work_point_staff_time", "staff_id", "created_at"),
        Index("ix_work_point_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("org_staff.id"))
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[Optional[int]] = mapped_column(Integer)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id", ondelete="SET NULL"))
    points: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    rule_set: Mapped[Optional[str]] = mapped_column(String(128))
    rule_name: Mapped[Optional[str]] = mapped_column(String(128))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff: Mapped[StaffProfile] = relationship()
