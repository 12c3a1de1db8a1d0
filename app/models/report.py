"""Reports: who receives which monthly report (subscriptions), the archive of every report
rendered, and the delivery of each archived report to each recipient (attempts, errors)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.org import Station, Team


class ReportKind(LabeledEnum):
    EVALUATION_MONTHLY = ("evaluation_monthly", "Monthly evaluation report")


class ReportScopeKind(LabeledEnum):
    STATION = ("station", "Station")
    TEAM = ("team", "Team")


class DeliveryStatus(LabeledEnum):
    PENDING = ("pending", "Pending")
    SENT = ("sent", "Sent")
    FAILED = ("failed", "Failed")


class ReportSubscription(Model):
    """A report of one scope (a station or a team) mailed every month to its recipients."""

    __tablename__ = "report_subscription"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), default=ReportKind.EVALUATION_MONTHLY.value)
    scope_kind: Mapped[str] = mapped_column(String(16), default=ReportScopeKind.STATION.value)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"), index=True)
    # One address a line (or separated by commas / semicolons).
    recipients: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    station: Mapped[Station] = relationship()
    team: Mapped[Optional[Team]] = relationship()

    def recipient_list(self) -> list[str]:
        import re

        return [a for a in (p.strip() for p in re.split(r"[\s,;]+", self.recipients or "")) if a]

    def __repr__(self) -> str:
        return self.name


class ReportArchive(Model):
    """One rendered report, kept as a file under ``instance/reports``."""

    __tablename__ = "report_archive"
    __table_args__ = (Index("ix_report_archive_scope_month", "station_id", "team_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), default=ReportKind.EVALUATION_MONTHLY.value)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    scope_kind: Mapped[str] = mapped_column(String(16))
    station_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_station.id"))
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_team.id"))
    subscription_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("report_subscription.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(255))
    file_name: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    render_seconds: Mapped[Optional[float]] = mapped_column(Float)
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    station: Mapped[Optional[Station]] = relationship()
    team: Mapped[Optional[Team]] = relationship()
    subscription: Mapped[Optional[ReportSubscription]] = relationship()
    deliveries: Mapped[list["ReportDelivery"]] = relationship(
        back_populates="archive", order_by="ReportDelivery.id", cascade="all, delete-orphan"
    )

    def delivery_summary(self) -> str:
        """"sent 2 · failed 1 (x@example.org: 550 …)" for the archive screen."""
        sent = [d for d in self.deliveries if d.status == DeliveryStatus.SENT.value]
        failed = [d for d in self.deliveries if d.status == DeliveryStatus.FAILED.value]
        text = f"✔ {len(sent)}"
        if failed:
            text += " · ✘ " + "; ".join(f"{d.recipient} ({d.attempts}×: {d.last_error or ''})" for d in failed)
        return text

    def __repr__(self) -> str:
        return self.title


class ReportDelivery(Model):
    """The mailing of one archived report to one recipient, with every attempt counted."""

    __tablename__ = "report_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    archive_id: Mapped[int] = mapped_column(ForeignKey("report_archive.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    transport: Mapped[Optional[str]] = mapped_column(String(255))
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    archive: Mapped[ReportArchive] = relationship(back_populates="deliveries")

    def __repr__(self) -> str:
        return f"{self.recipient}: {self.status}"


# Indexes on the work-order tables that the monthly indicators need: every figure is "orders of
# a station whose <moment> falls in the month".  Declared here (the reports room's migration
# creates them) so the spine's model module stays as it is.
from app.models.workorder import ReturnVisit, WorkOrder, WorkOrderEvent  # noqa: E402

Index("ix_work_order_station_resolved", WorkOrder.station_id, WorkOrder.resolved_at)
Index("ix_work_order_station_evaluated", WorkOrder.station_id, WorkOrder.evaluated_at)
Index("ix_work_order_station_deadline", WorkOrder.station_id, WorkOrder.deadline)
Index("ix_work_order_return_visit_time", ReturnVisit.visited_at)
Index("ix_work_order_event_actor_time", WorkOrderEvent.actor_id, WorkOrderEvent.created_at)
Index("ix_work_order_event_action_time", WorkOrderEvent.action, WorkOrderEvent.created_at)
