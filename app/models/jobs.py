"""Scheduled work: job definitions as data, their run history, the scheduler's lease, the
APScheduler job store table, and the SLA warnings already sent.

Job definitions (name, dotted function path, cron, paused) are what administrators edit;
the scheduler process reconciles APScheduler's persistent job store with them.  A run's
``tick_key`` (job name + scheduled time) is unique, so one tick can never be run twice
even if two schedulers were ever active at once; the lease row is what keeps a second
scheduler process on standby in the first place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow


class RunOutcome(LabeledEnum):
    RUNNING = ("running", "Running")
    SUCCESS = ("success", "Succeeded")
    FAILED = ("failed", "Failed")
    # A tick not run: the previous run was still going (one instance per job) …
    SKIPPED = ("skipped", "Skipped: previous run still going")
    # … or the scheduler came back later than the job's misfire grace time.
    MISSED = ("missed", "Missed: later than the grace time")


class JobDefinition(Model):
    __tablename__ = "job_definition"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[Optional[str]] = mapped_column(String(255))
    func: Mapped[str] = mapped_column(String(255))
    cron: Mapped[str] = mapped_column(String(64))
    misfire_grace_seconds: Mapped[int] = mapped_column(Integer, default=300)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    run_requested_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return self.name


class JobRun(Model):
    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("tick_key", name="uq_job_run_tick"),
        Index("ix_job_run_job_started", "job_name", "started_at"),
        # each run looks up its job's previous tick (coalesced ticks)
        Index("ix_job_run_job_scheduled", "job_name", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_name: Mapped[str] = mapped_column(String(64))
    tick_key: Mapped[str] = mapped_column(String(128))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")
    scheduled_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    outcome: Mapped[str] = mapped_column(String(16), default=RunOutcome.RUNNING.value)
    counts: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    error: Mapped[Optional[str]] = mapped_column(Text)
    holder: Mapped[Optional[str]] = mapped_column(String(128))


class SchedulerLease(Model):
    """Who runs the scheduler now; taken with UPDATE … WHERE expired, renewed by heartbeat."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[Optional[str]] = mapped_column(String(128))
    acquired_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# APScheduler 3's SQLAlchemyJobStore table, declared here so the migration creates it and
# autogenerate does not propose to drop it; the columns match what the job store expects.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    Model.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SlaWarning(Model):
    """One SLA warning of one level for one order: the unique key makes each level once."""

    __tablename__ = "sla_warning"
    # One warning of each level per clock of each order (0013: the clock joined the key).
    __table_args__ = (
        UniqueConstraint("order_id", "clock", "level", name="uq_sla_warning_order_clock_level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    clock: Mapped[str] = mapped_column(String(16), default="completion", server_default="completion")
    level: Mapped[str] = mapped_column(String(16))
    elapsed_share: Mapped[float] = mapped_column(Float)
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    mailed: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
