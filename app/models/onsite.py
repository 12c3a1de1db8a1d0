"""On-site work of district managers: customer visits (with corrections kept in a history),
on-site service records, safety supervision, equipment collection, and box–meter
relationship anomalies with their timed, attributed timeline."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.customer import Customer
from app.models.org import Grid, Transformer
from app.models.workorder import WorkOrder


class Visit(Model):
    """A district manager's visit to a customer (走访)."""

    __tablename__ = "onsite_visit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"))
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_staff.id"))
    staff_name: Mapped[str] = mapped_column(String(64))
    visited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    address_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[Optional[str]] = mapped_column(Text)

    customer: Mapped[Customer] = relationship()
    grid: Mapped[Grid] = relationship()

    def __repr__(self) -> str:
        return f"{self.staff_name} {self.visited_at:%Y-%m-%d}"


class CustomerChange(Model):
    """The old value of a customer field corrected on site (联系方式/地址变更历史)."""

    __tablename__ = "customer_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), index=True)
    visit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("onsite_visit.id", ondelete="SET NULL"))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[Optional[str]] = mapped_column(String(255))
    new_value: Mapped[Optional[str]] = mapped_column(String(255))
    changed_by_name: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ServiceRecord(Model):
    """What a district manager did on site, for which customer or order (现场服务记录)."""

    __tablename__ = "onsite_service_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id", ondelete="SET NULL"))
    content: Mapped[str] = mapped_column(Text)
    staff_name: Mapped[str] = mapped_column(String(64))
    performed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    grid: Mapped[Grid] = relationship()
    customer: Mapped[Optional[Customer]] = relationship()
    order: Mapped[Optional[WorkOrder]] = relationship()


class SafetyRecord(Model):
    """A safety supervision record (安全监督): hazards found and their rectification."""

    __tablename__ = "onsite_safety_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"))
    site: Mapped[str] = mapped_column(String(255))
    hazards: Mapped[str] = mapped_column(Text)
    rectification_required: Mapped[Optional[str]] = mapped_column(Text)
    deadline: Mapped[Optional[dt.date]] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    closed_by_name: Mapped[Optional[str]] = mapped_column(String(64))
    closing_note: Mapped[Optional[str]] = mapped_column(Text)
    staff_name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    grid: Mapped[Grid] = relationship()


class EquipmentRecord(Model):
    """Equipment information collected on site (设备信息采集)."""

    __tablename__ = "onsite_equipment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"))
    equipment_type: Mapped[str] = mapped_column(String(64))
    model: Mapped[Optional[str]] = mapped_column(String(64))
    serial_no: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    location: Mapped[str] = mapped_column(String(255))
    transformer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_transformer.id"))
    meter_box_no: Mapped[Optional[str]] = mapped_column(String(32))
    staff_name: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    grid: Mapped[Grid] = relationship()
    transformer: Mapped[Optional[Transformer]] = relationship()


class AnomalyState(LabeledEnum):
    REGISTERED = ("registered", "Registered")
    RECTIFIED = ("rectified", "Rectified")
    VERIFIED = ("verified", "Verified")


class MeterBoxAnomaly(Model):
    """An abnormal box–meter relationship (箱表关系异常) found on site."""

    __tablename__ = "onsite_meter_box_anomaly"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"))
    meter_box_no: Mapped[str] = mapped_column(String(32))
    meter_no: Mapped[str] = mapped_column(String(32))
    expected: Mapped[str] = mapped_column(String(255))
    found: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=AnomalyState.REGISTERED.value, index=True)
    registered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    registered_by_name: Mapped[str] = mapped_column(String(64))
    rectified_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    rectified_by_name: Mapped[Optional[str]] = mapped_column(String(64))
    rectification: Mapped[Optional[str]] = mapped_column(Text)
    verified_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    verified_by_name: Mapped[Optional[str]] = mapped_column(String(64))

    grid: Mapped[Grid] = relationship()
    events: Mapped[list["AnomalyEvent"]] = relationship(
        back_populates="anomaly", order_by="AnomalyEvent.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.meter_box_no}/{self.meter_no}"


class AnomalyEvent(Model):
    """One step of an anomaly's timeline: who, when, from which state to which."""

    __tablename__ = "onsite_anomaly_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anomaly_id: Mapped[int] = mapped_column(
        ForeignKey("onsite_meter_box_anomaly.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    from_state: Mapped[Optional[str]] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor_name: Mapped[str] = mapped_column(String(64))
    note: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    anomaly: Mapped[MeterBoxAnomaly] = relationship(back_populates="events")
