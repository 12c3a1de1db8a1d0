"""Work orders (工单), their timeline, suspensions, deadline extensions and return visits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
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
from app.models.clocks import WorkOrderClock
from app.models.customer import Customer
from app.models.org import Grid, StaffProfile, Station, Team


class Channel(LabeledEnum):
    CITY_CALL = ("city_call", "Smart urban management call")
    HOTLINE_12345 = ("hotline_12345", "12345 government hotline")
    THREE_SERVICES = ("three_services", "Three-services enterprise app")
    GRASSROOTS_GRID = ("grassroots_grid", "Grassroots governance platform")
    CONVENIENCE_POINT = ("convenience_point", "Convenience service point")
    LOVE_SUPERMARKET = ("love_supermarket", "Electricity love supermarket")
    ONLINE_NONFAULT = ("online_nonfault", "Online non-fault request")
    OA_DEMAND = ("oa_demand", "OA system transfer")
    ONSITE = ("onsite", "On-site")
    TASK = ("task", "Internal task")
    # Registered at the station's own desks (issue 16): a customer's phone call, a walk-in.
    PHONE = ("phone", "Phone call")
    COUNTER = ("counter", "Service counter (walk-in)")


class DemandType(LabeledEnum):
    CONSULTATION = ("consultation", "Consultation")
    COMPLAINT = ("complaint", "Complaint")
    REPORT = ("report", "Report")
    SUGGESTION = ("suggestion", "Suggestion")
    OPINION = ("opinion", "Opinion")
    PRAISE = ("praise", "Praise")
    # The code stays "urgent" (the intake contract); what it means is a fault repair (故障报修).
    URGENT = ("urgent", "Fault repair")
    SERVICE = ("service", "Service request")


class OrderState(LabeledEnum):
    REGISTERED = ("registered", "Registered")
    DISPATCHED = ("dispatched", "Dispatched")
    ACCEPTED = ("accepted", "Accepted")
    RESOLVED = ("resolved", "Resolved")
    VERIFIED = ("verified", "Verified")
    EVALUATED = ("evaluated", "Evaluated")
    # Voided (作废) with a reason by a team leader: closed without being handled; no order
    # is ever deleted.
    VOIDED = ("voided", "Voided")


OPEN_STATES = (
    OrderState.REGISTERED.value,
    OrderState.DISPATCHED.value,
    OrderState.ACCEPTED.value,
)


class Priority(LabeledEnum):
    LOW = ("low", "Low")
    NORMAL = ("normal", "Normal")
    HIGH = ("high", "High")
    URGENT = ("urgent", "Urgent")


class SupervisionLevel(LabeledEnum):
    NONE = ("none", "None")
    STATION = ("station", "Station")
    COUNTY = ("county", "County")
    CITY = ("city", "City")


class WorkOrder(Model):
    __tablename__ = "work_order"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_work_order_channel_external"),
        # The screens' common filters: a team's open orders by deadline, a person's queue.
        Index("ix_work_order_team_state_deadline", "team_id", "state", "deadline"),
        Index("ix_work_order_assignee_state", "assignee_id", "state"),
        # A grid manager's and a director's lists filtered by state, sorted by deadline (0010).
        Index("ix_work_order_grid_state_deadline", "grid_id", "state", "deadline"),
        Index("ix_work_order_station_state_deadline", "station_id", "state", "deadline"),
        Index("ix_work_order_station_registered", "station_id", "registered_at"),
        Index("ix_work_order_updated", "updated_at"),
        # Keyset pages newest first, one scope value at a time (app.workflow.pages, 0025).
        Index("ix_work_order_station_id_id", "station_id", "id"),
        Index("ix_work_order_team_id_id", "team_id", "id"),
        Index("ix_work_order_grid_id_id", "grid_id", "id"),
        Index("ix_work_order_assignee_id_id", "assignee_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    # looked up through uq_work_order_channel_external (channel, external_id): no index of its own
    channel: Mapped[str] = mapped_column(String(32))
    demand_type: Mapped[str] = mapped_column(String(32), index=True)
    external_id: Mapped[Optional[str]] = mapped_column(String(64))
    payload_hash: Mapped[Optional[str]] = mapped_column(String(64))

    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id"), index=True)
    customer_no: Mapped[Optional[str]] = mapped_column(String(16), index=True)
    contact_name: Mapped[Optional[str]] = mapped_column(String(64))
    phone: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    address: Mapped[Optional[str]] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)

    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_station.id"))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_grid.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_staff.id"))

    priority: Mapped[str] = mapped_column(String(16), default=Priority.NORMAL.value)
    state: Mapped[str] = mapped_column(String(16), default=OrderState.REGISTERED.value, index=True)
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    supervision_level: Mapped[str] = mapped_column(String(16), default=SupervisionLevel.NONE.value)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    redo_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)

    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    dispatched_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    accepted_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    resolved_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    verified_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    evaluated_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deadline: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    source_deadline: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    # The deadline needed a day of a year whose statutory calendar is not entered yet: it was
    # counted Monday–Friday and is recomputed when that year is completed.
    deadline_provisional: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    deadline_working_days: Mapped[Optional[int]] = mapped_column(Integer)
    deadline_hours: Mapped[Optional[int]] = mapped_column(Integer)
    suspended_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)

    resolution: Mapped[Optional[str]] = mapped_column(Text)
    timely: Mapped[Optional[bool]] = mapped_column(Boolean)
    score: Mapped[Optional[int]] = mapped_column(Integer)
    score_timeliness: Mapped[Optional[int]] = mapped_column(Integer)
    score_quality: Mapped[Optional[int]] = mapped_column(Integer)
    score_attitude: Mapped[Optional[int]] = mapped_column(Integer)
    evaluation_comment: Mapped[Optional[str]] = mapped_column(Text)

    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id"), index=True)
    reopened_from_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id"))
    duplicate_of_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id"))

    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    customer: Mapped[Optional[Customer]] = relationship()
    station: Mapped[Optional[Station]] = relationship()
    team: Mapped[Optional[Team]] = relationship()
    grid: Mapped[Optional[Grid]] = relationship()
    assignee: Mapped[Optional[StaffProfile]] = relationship()
    events: Mapped[list["WorkOrderEvent"]] = relationship(
        back_populates="order", order_by="WorkOrderEvent.id", cascade="all, delete-orphan"
    )
    parent: Mapped[Optional["WorkOrder"]] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    children: Mapped[list["WorkOrder"]] = relationship(
        foreign_keys=[parent_id], back_populates="parent"
    )
    reopened_from: Mapped[Optional["WorkOrder"]] = relationship(
        remote_side=[id], foreign_keys=[reopened_from_id]
    )
    # The milestone clocks (app/models/clocks.py), earliest deadline first.
    clocks: Mapped[list["WorkOrderClock"]] = relationship(
        back_populates="order", order_by="WorkOrderClock.id", cascade="all, delete-orphan"
    )
    # Where the district manager's phone was on arrival (the arrive action).
    arrival_latitude: Mapped[Optional[Decimal]] = mapped_column(Numeric(9, 6))
    arrival_longitude: Mapped[Optional[Decimal]] = mapped_column(Numeric(9, 6))

    # A version counter for optimistic locking: a concurrent update raises StaleDataError.
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        return self.number


class WorkOrderEvent(Model):
    """One step on an order's timeline: who did what, when, from which state to which."""

    __tablename__ = "work_order_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[Optional[str]] = mapped_column(String(16))
    to_state: Mapped[Optional[str]] = mapped_column(String(16))
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    note: Mapped[Optional[str]] = mapped_column(Text)
    data: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[WorkOrder] = relationship(back_populates="events")


class Suspension(Model):
    """A period during which the order's clock stood still (挂起)."""

    __tablename__ = "work_order_suspension"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    paused_seconds: Mapped[Optional[int]] = mapped_column(Integer)

    order: Mapped[WorkOrder] = relationship()



class ExtensionStatus(LabeledEnum):
    PENDING = ("pending", "Pending")
    APPROVED = ("approved", "Approved")
    REFUSED = ("refused", "Refused")


class ExtensionRequest(Model):
    """A request to extend an order's deadline (延期), decided by the team leader."""

    __tablename__ = "work_order_extension"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_days: Mapped[int] = mapped_column(Integer)
    approved_days: Mapped[Optional[int]] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ExtensionStatus.PENDING.value)
    requested_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    decision_note: Mapped[Optional[str]] = mapped_column(Text)

    order: Mapped[WorkOrder] = relationship()



class QuestionKind(LabeledEnum):
    """How a return-visit question is answered: the page renders each as its own input."""

    YES_NO = ("yes_no", "Yes / no")
    SATISFACTION = ("satisfaction", "Satisfaction 1–5")
    CHOICE = ("choice", "Choice")
    TEXT = ("text", "Text")


class CallbackQuestion(Model):
    """A question asked on every return visit (回访); the set is configured by administrators."""

    __tablename__ = "callback_question"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(String(255))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(16), default=QuestionKind.TEXT.value,
                                      server_default=QuestionKind.TEXT.value)
    # The answers of a choice question, one a line (or separated by commas).
    options: Mapped[Optional[str]] = mapped_column(String(500))

    def option_list(self) -> list[str]:
        import re

        return [part.strip() for part in re.split(r"[\n,，]", self.options or "") if part.strip()]

    def __repr__(self) -> str:
        return self.text


class ReturnVisit(Model):
    """The customer's answers on a return visit; an unsatisfied one sends the order to redo."""

    __tablename__ = "work_order_return_visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), index=True)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    answers: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    note: Mapped[Optional[str]] = mapped_column(Text)
    visited_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    visited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    order: Mapped[WorkOrder] = relationship()



class OrderNumberCounter(Model):
    """Per-day counter behind readable numbers like GD20261128-0001 (row-locked on increment)."""

    __tablename__ = "work_order_counter"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
