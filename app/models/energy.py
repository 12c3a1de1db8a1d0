"""Customer energy services: the per-station tariff table behind saving suggestions,
transformer demand readings behind available capacity, and push campaigns with each push
and its delivery state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.customer import Customer
from app.models.org import Station, Transformer


class StationTariff(Model):
    """Time-of-use prices (yuan/kWh) of one station and customer type (分时电价表)."""

    __tablename__ = "energy_station_tariff"
    __table_args__ = (UniqueConstraint("station_id", "customer_type", name="uq_tariff_station_type"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    customer_type: Mapped[str] = mapped_column(String(32))
    sharp_price: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    peak_price: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    flat_price: Mapped[Decimal] = mapped_column(Numeric(8, 4))
    valley_price: Mapped[Decimal] = mapped_column(Numeric(8, 4))

    station: Mapped[Station] = relationship()

    def __repr__(self) -> str:
        return f"{self.customer_type} {self.peak_price}/{self.valley_price}"


class DemandReading(Model):
    """A recorded demand (kVA) of a transformer, from metering or a field measurement."""

    __tablename__ = "energy_demand_reading"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transformer_id: Mapped[int] = mapped_column(ForeignKey("org_transformer.id"), index=True)
    measured_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    demand_kva: Mapped[Decimal] = mapped_column(Numeric(10, 1))
    source: Mapped[Optional[str]] = mapped_column(String(32))

    transformer: Mapped[Transformer] = relationship()


class CampaignState(LabeledEnum):
    DRAFT = ("draft", "Draft")
    SENT = ("sent", "Sent")


class PushCampaign(Model):
    """A targeted push (精准推送): who gets it (``criteria``) and what it says (``template``)."""

    __tablename__ = "energy_push_campaign"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"), index=True)
    criteria: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    template: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=CampaignState.DRAFT.value)
    created_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_run_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())

    station: Mapped[Station] = relationship()
    messages: Mapped[list["PushMessage"]] = relationship(back_populates="campaign", order_by="PushMessage.id")

    def __repr__(self) -> str:
        return self.name


class DeliveryState(LabeledEnum):
    PENDING = ("pending", "Pending")
    SENT = ("sent", "Sent")
    FAILED = ("failed", "Failed")


class PushMessage(Model):
    """One push to one customer; unique per campaign so a re-run never pushes twice."""

    __tablename__ = "energy_push_message"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id", name="uq_push_campaign_customer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("energy_push_campaign.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    sender: Mapped[Optional[str]] = mapped_column(String(32))
    error: Mapped[Optional[str]] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())

    campaign: Mapped[PushCampaign] = relationship(back_populates="messages")
    customer: Mapped[Customer] = relationship()
