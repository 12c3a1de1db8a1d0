"""Business rules as data: versioned rule sets per domain, the log of fired rules, and the
availability data routing needs (leave periods with stand-ins, round-robin cursors).

A rule set's JSON is never edited in place: every save adds a ``RuleSetVersion`` and moves
``RuleSet.version`` to it, so any earlier behaviour can be restored (as a new version) and
any two versions compared.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.org import StaffProfile


class RuleDomain(LabeledEnum):
    ROUTING = ("routing", "Routing")
    ESCALATION = ("escalation", "Escalation")
    SCORING = ("scoring", "Work-point scoring")
    TARGETING = ("targeting", "Push targeting")


class RuleSet(Model):
    """A named, prioritised list of rules of one domain; its rules live in its versions."""

    __tablename__ = "rule_set"
    __table_args__ = (UniqueConstraint("domain", "name", name="uq_rule_set_domain_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    description: Mapped[Optional[str]] = mapped_column(Text)
    # Higher runs first; among equals, the older rule set first.
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[Optional[str]] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list["RuleSetVersion"]] = relationship(
        back_populates="rule_set", order_by="RuleSetVersion.version", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.domain}/{self.name}"


class RuleSetVersion(Model):
    """One saved state of a rule set: its rules as business-rules JSON, who saved it, when."""

    __tablename__ = "rule_set_version"
    __table_args__ = (UniqueConstraint("rule_set_id", "version", name="uq_rule_set_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_set.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    author: Mapped[Optional[str]] = mapped_column(String(64))
    comment: Mapped[Optional[str]] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    rule_set: Mapped[RuleSet] = relationship(back_populates="versions")


class RuleFiring(Model):
    """A rule that fired on a subject (order, customer) and what it did — the audit trail."""

    __tablename__ = "rule_firing"
    __table_args__ = (
        Index("ix_rule_firing_subject", "domain", "subject_type", "subject_id"),
        Index("ix_rule_firing_time", "fired_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain: Mapped[str] = mapped_column(String(32))
    rule_set: Mapped[str] = mapped_column(String(128))
    rule_set_version: Mapped[int] = mapped_column(Integer)
    rule_name: Mapped[str] = mapped_column(String(128))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    effects: Mapped[Optional[list[dict[str, Any]]]] = mapped_column(JSON)
    fired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StaffLeave(Model):
    """A period when a member of staff takes no new work; ``stand_in`` takes it instead."""

    __tablename__ = "staff_leave"
    __table_args__ = (Index("ix_staff_leave_staff_period", "staff_id", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("org_staff.id", ondelete="CASCADE"))
    stand_in_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_staff.id", ondelete="SET NULL"))
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    reason: Mapped[Optional[str]] = mapped_column(String(255))

    staff: Mapped[StaffProfile] = relationship(foreign_keys=[staff_id])
    stand_in: Mapped[Optional[StaffProfile]] = relationship(foreign_keys=[stand_in_id])

    def __repr__(self) -> str:
        return f"{self.staff} {self.starts_at:%Y-%m-%d}–{self.ends_at:%Y-%m-%d}"


class RoundRobinCursor(Model):
    """Who got the last order of a round-robin (per team); row-locked while it moves on."""

    __tablename__ = "rule_round_robin"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_staff_id: Mapped[Optional[int]] = mapped_column(Integer)
    turns: Mapped[int] = mapped_column(Integer, default=0)
