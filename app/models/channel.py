"""Channels (渠道): API keys of external platforms and their use, the feedback outbox, service
points with duty rosters, love supermarkets with their community-points ledger, duplicate
reviews, and internal task templates with their generated occurrences."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.org import Grid, StaffProfile, Station, Team


class PreciseUTCDateTime(UTCDateTime):
    """UTCDateTime with microseconds on MySQL/MariaDB too (DATETIME(6)): the feedback
    cursor compares times that are often within the same second."""

    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "mysql":
            from sqlalchemy.dialects.mysql import DATETIME

            return dialect.type_descriptor(DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())


# --- intake API keys ---------------------------------------------------------------------
class ChannelApiKey(Model):
    """A key of one external platform for one channel.  Only a SHA-256 of the key is kept;
    the short ``prefix`` (part of the key itself) finds the row without scanning."""

    __tablename__ = "channel_api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    # Demands that name no known customer land at this station (None: company-wide, admins).
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_station.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))

    station: Mapped[Optional[Station]] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"{self.channel} {self.prefix} {self.name}"


class ChannelApiKeyUse(Model):
    """One request made with a key (insert-only: concurrent retries never contend on a row)."""

    __tablename__ = "channel_api_key_use"
    __table_args__ = (Index("ix_api_key_use_key_time", "api_key_id", "used_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("channel_api_key.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    status: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[Optional[str]] = mapped_column(String(64))
    remote_addr: Mapped[Optional[str]] = mapped_column(String(64))
    used_at: Mapped[dt.datetime] = mapped_column(PreciseUTCDateTime(), default=utcnow)

    api_key: Mapped[ChannelApiKey] = relationship()


class FeedbackOutbox(Model):
    """A result to give back to the source platform (resolved, evaluated…), with the order's
    result as it stood (``payload``).  Pollers and the push delivery read it by ``seq``.

    ``seq`` is left empty on insert and given later by the sequencer
    (``app.channels.feedback.number_results``) in the order the rows became visible, i.e.
    in commit order: an id or a time stamped inside the transaction is not, so a poller
    reading "after the last one I saw" by either could skip a row committed late.

    The delivery columns follow the push to the channel's callback URL: ``attempts`` and
    ``next_attempt_at`` while it is retried, ``failed_at`` once it has given up (the channel
    then waits for an administrator's retry), ``delivered_at`` once the callback took it."""

    __tablename__ = "channel_feedback_outbox"
    __table_args__ = (
        Index("ix_feedback_channel_created", "channel", "created_at"),
        Index("ix_feedback_channel_seq", "channel", "seq"),
        UniqueConstraint("seq", name="uq_channel_feedback_outbox_seq"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[Optional[str]] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    payload: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(PreciseUTCDateTime(), default=utcnow)
    seq: Mapped[Optional[int]] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    last_error: Mapped[Optional[str]] = mapped_column(String(255))
    failed_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime(), index=True)
    delivered_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())

    order: Mapped[Any] = relationship("WorkOrder")


class FeedbackSequence(Model):
    """The one counter row the sequencer locks (``SELECT … FOR UPDATE``) while it numbers
    the outbox: sequencers run one at a time, so numbers never interleave."""

    __tablename__ = "channel_feedback_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class ChannelCallback(Model):
    """Where a channel's results are pushed: its callback URL and the secret the bodies are
    signed with (HMAC-SHA256).  The secret has to be kept as is to sign; screens show it
    once when it is set and masked afterwards.  ``start_after_seq`` is the last result that
    existed when the callback was set up (older ones are for the poller, not pushed); the
    lease keeps two delivery runs (scheduler, command line) off the same channel."""

    __tablename__ = "channel_callback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    start_after_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_until: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    lease_holder: Mapped[Optional[str]] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))

    @property
    def secret_hint(self) -> str:
        return "••••" + self.secret[-4:] if self.secret else ""

    def __repr__(self) -> str:
        return f"{self.channel} → {self.url}"


class OrderOrigin(Model):
    """Where a branch-channel order was taken: the service point or love supermarket."""

    __tablename__ = "channel_order_origin"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), unique=True)
    service_point_id: Mapped[Optional[int]] = mapped_column(ForeignKey("channel_service_point.id"), index=True)
    supermarket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("channel_love_supermarket.id"), index=True)
    remote_addr: Mapped[Optional[str]] = mapped_column(String(64))


# --- duplicates ----------------------------------------------------------------------------
class DuplicateStatus(LabeledEnum):
    PENDING = ("pending", "Awaiting decision")
    MERGED = ("merged", "Merged")
    KEPT = ("kept", "Kept separate")


class DuplicateReview(Model):
    """A new order flagged as a likely repeat of an earlier one, for the team leader."""

    __tablename__ = "channel_duplicate_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), unique=True)
    duplicate_of_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    similarity: Mapped[Decimal] = mapped_column(Numeric(4, 3))
    matched_on: Mapped[str] = mapped_column(String(16))  # phone / customer
    status: Mapped[str] = mapped_column(String(16), default=DuplicateStatus.PENDING.value, index=True)
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_station.id"))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_grid.id"))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[Any] = relationship("WorkOrder", foreign_keys=[order_id])
    duplicate_of: Mapped[Any] = relationship("WorkOrder", foreign_keys=[duplicate_of_id])


# --- branch channels: service points and love supermarkets --------------------------------
class ServicePoint(Model):
    """A convenience service point (便民服务点)."""

    __tablename__ = "channel_service_point"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_grid.id"), index=True)
    address: Mapped[str] = mapped_column(String(255))
    latitude: Mapped[Optional[Decimal]] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Optional[Decimal]] = mapped_column(Numeric(9, 6))
    opening_hours: Mapped[Optional[str]] = mapped_column(String(128))
    contact_name: Mapped[Optional[str]] = mapped_column(String(64))
    contact_phone: Mapped[Optional[str]] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    station: Mapped[Station] = relationship()
    grid: Mapped[Optional[Grid]] = relationship()

    def __repr__(self) -> str:
        return self.name


class Shift(LabeledEnum):
    MORNING = ("morning", "Morning (08:30–12:00)")
    AFTERNOON = ("afternoon", "Afternoon (13:30–17:30)")
    EVENING = ("evening", "Evening (18:00–21:00)")


class DutyShift(Model):
    """Who is on duty at which point, which day and shift.  A person is in one place per
    shift: the unique constraint is the last guard behind the roster service's check."""

    __tablename__ = "channel_duty_shift"
    __table_args__ = (
        UniqueConstraint("staff_id", "day", "shift", name="uq_duty_staff_day_shift"),
        Index("ix_duty_point_day", "service_point_id", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service_point_id: Mapped[int] = mapped_column(ForeignKey("channel_service_point.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("org_staff.id"))
    day: Mapped[dt.date] = mapped_column(Date)
    shift: Mapped[str] = mapped_column(String(16))
    note: Mapped[Optional[str]] = mapped_column(String(255))

    service_point: Mapped[ServicePoint] = relationship()
    staff: Mapped[StaffProfile] = relationship()

    # for the row scope of the roster screens
    @property
    def station_id(self) -> int | None:
        return self.service_point.station_id if self.service_point else None


class LoveSupermarket(Model):
    """An electricity love supermarket (电力爱心超市)."""

    __tablename__ = "channel_love_supermarket"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    address: Mapped[str] = mapped_column(String(255))
    latitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    person_in_charge_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_staff.id"), index=True)
    contact_phone: Mapped[Optional[str]] = mapped_column(String(32))
    staffing_needs: Mapped[Optional[str]] = mapped_column(Text)
    services_offered: Mapped[Optional[str]] = mapped_column(Text)
    opening_hours: Mapped[Optional[str]] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    station: Mapped[Station] = relationship()
    grid: Mapped[Grid] = relationship()
    person_in_charge: Mapped[Optional[StaffProfile]] = relationship()

    def __repr__(self) -> str:
        return self.name


class CommunityResident(Model):
    """A resident taking part in a love supermarket's community points scheme.  ``balance``
    is the ledger's running total, kept on the row so a conditional UPDATE can refuse an
    overdraft atomically; the CHECK constraint is the last guard."""

    __tablename__ = "channel_community_resident"
    __table_args__ = (CheckConstraint("balance >= 0", name="ck_resident_balance_not_negative"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("channel_love_supermarket.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    customer_no: Mapped[Optional[str]] = mapped_column(String(16))
    balance: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    supermarket: Mapped[LoveSupermarket] = relationship()

    def __repr__(self) -> str:
        return self.name


class CommunityPointKind(LabeledEnum):
    HAZARD_REPORT = ("hazard_report", "Hazard report")
    VOLUNTEERING = ("volunteering", "Volunteering at the supermarket")
    REDEMPTION = ("redemption", "Redemption for goods")
    CORRECTION = ("correction", "Correction")


class CommunityPointEntry(Model):
    """One earning (+) or redemption (−) with its reason; never edited."""

    __tablename__ = "channel_community_point_entry"
    __table_args__ = (Index("ix_community_entry_resident", "resident_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("channel_community_resident.id", ondelete="CASCADE"))
    supermarket_id: Mapped[int] = mapped_column(ForeignKey("channel_love_supermarket.id"))
    kind: Mapped[str] = mapped_column(String(32))
    points: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id", ondelete="SET NULL"))
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    resident: Mapped[CommunityResident] = relationship()


# --- internal tasks ------------------------------------------------------------------------
class Recurrence(LabeledEnum):
    ONCE = ("once", "One-off")
    DAILY = ("daily", "Daily")
    WEEKLY = ("weekly", "Weekly")
    MONTHLY = ("monthly", "Monthly")


class TaskKind(LabeledEnum):
    PATROL = ("patrol", "Patrol")
    METER_CHECK = ("meter_check", "Meter check")
    ARREARS_REMINDER = ("arrears_reminder", "Arrears reminder")
    SAFETY_CHECK = ("safety_check", "Safety check")
    OTHER = ("other", "Other")


class TaskTemplate(Model):
    """Daily work turned into work orders of channel ``task``, one-off or recurring."""

    __tablename__ = "channel_task_template"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default=TaskKind.PATROL.value)
    content: Mapped[str] = mapped_column(Text)
    recurrence: Mapped[str] = mapped_column(String(16), default=Recurrence.ONCE.value)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"), index=True)
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_grid.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_staff.id"))
    deadline_working_days: Mapped[int] = mapped_column(Integer, default=1)
    work_points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    starts_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    station: Mapped[Station] = relationship()
    team: Mapped[Optional[Team]] = relationship()
    grid: Mapped[Optional[Grid]] = relationship()
    assignee: Mapped[Optional[StaffProfile]] = relationship()

    def __repr__(self) -> str:
        return self.title


class TaskOccurrence(Model):
    """One period's order of a template; (template, period) is unique, so each period's
    occurrence is created exactly once however many schedulers race for it."""

    __tablename__ = "channel_task_occurrence"
    __table_args__ = (UniqueConstraint("template_id", "period_key", name="uq_task_template_period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("channel_task_template.id", ondelete="CASCADE"))
    period_key: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id", ondelete="SET NULL"), index=True)
    work_points: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    template: Mapped[TaskTemplate] = relationship()
