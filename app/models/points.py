"""The work-point ledger (工分): one row per scoring event, naming what produced it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.org import StaffProfile


class EntryKind(LabeledEnum):
    POINTS = ("points", "Points")
    REVERSAL = ("reversal", "Reversal")


class WorkPointEntry(Model):
    """Points earned (positive) or deducted (negative) by a member of staff for one scoring
    event: an evaluated order, a completed task, a visit, an on-site record…

    ``source_type``/``source_id`` name the record that earned them; ``rule_set`` (at
    ``rule_set_version``) and ``rule_name`` the rules that decided the amount, ``lines`` each
    fired rule's share and ``facts`` what the rules read, so every point can be explained.
    Entries are never edited: a reopened or redone order gets a ``reversal`` entry (the
    negative of the one it cancels, ``reverses_id``) before it is scored again.
    """

    __tablename__ = "work_point_entry"
    __table_args__ = (
        Index("ix_work_point_staff_time", "staff_id", "created_at"),
        Index("ix_work_point_source", "source_type", "source_id"),
        Index("ix_work_point_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("org_staff.id"))
    kind: Mapped[str] = mapped_column(String(16), default=EntryKind.POINTS.value,
                                      server_default=EntryKind.POINTS.value)
    source_type: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[Optional[int]] = mapped_column(Integer)
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id", ondelete="SET NULL"))
    points: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    rule_set: Mapped[Optional[str]] = mapped_column(String(128))
    rule_set_version: Mapped[Optional[int]] = mapped_column(Integer)
    rule_name: Mapped[Optional[str]] = mapped_column(String(255))
    lines: Mapped[Optional[list[dict[str, Any]]]] = mapped_column(JSON)
    facts: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    reverses_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_point_entry.id"))
    reason: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    staff: Mapped[StaffProfile] = relationship()
