"""Customer archive (客户档案): customers, their tags and energy intentions, monthly bills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

import hashlib
import re

from sqlalchemy import Column, ForeignKey, Index, Integer, Numeric, String, Table, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow
from app.models.org import Grid, Transformer


PHONE_TAIL_DIGITS = 8


def _digest(digits: str) -> str:
    return hashlib.sha256(f"gridcare-phone:{digits}".encode()).hexdigest()


def phone_keys(phone: str | None) -> dict[str, str | None]:
    """The look-up keys of a phone number: digests of all its digits and of its last eight.

    The registration desk finds a customer by the full number or its last eight digits even
    where the role sees the number masked.  Matching on digests means the search is equality
    only: no prefix, no LIKE, nothing that reveals a digit the caller did not type in full."""
    phone = phone or ""
    digits = phone if phone.isdecimal() else re.sub(r"\D", "", phone)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) < PHONE_TAIL_DIGITS:
        return {"phone_key": _digest(digits) if digits else None, "phone_tail_key": None}
    return {"phone_key": _digest(digits), "phone_tail_key": _digest(digits[-PHONE_TAIL_DIGITS:])}


class CustomerType(LabeledEnum):
    RESIDENTIAL = ("residential", "Residential")
    NON_RESIDENTIAL = ("non_residential", "Non-residential")
    LARGE_INDUSTRY = ("large_industry", "Large industry")
    AGRICULTURAL = ("agricultural", "Agricultural")


customer_tag_link = Table(
    "customer_tag_link",
    Model.metadata,
    Column("customer_id", ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("customer_tag.id", ondelete="CASCADE"), primary_key=True),
)

customer_intention_link = Table(
    "customer_intention_link",
    Model.metadata,
    Column("customer_id", ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True),
    Column("intention_id", ForeignKey("energy_intention.id", ondelete="CASCADE"), primary_key=True),
)


class CustomerTag(Model):
    """A label such as elderly living alone (独居老人), sensitive, important, PV owner."""

    __tablename__ = "customer_tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return self.name


class EnergyIntention(Model):
    """A comprehensive-energy interest: PV, EV charging, heat pump, storage, electric cooking…"""

    __tablename__ = "energy_intention"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))

    def __repr__(self) -> str:
        return self.name


class Customer(Model):
    __tablename__ = "customer"
    # "Customer number starts with" (an ILIKE prefix; the numbers start with digits, which have
    # no case) from an index on PostgreSQL; MariaDB's unique index serves LIKE prefixes itself.
    __table_args__ = (
        Index("ix_customer_no_pattern", "customer_no",
              postgresql_ops={"customer_no": "varchar_pattern_ops"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_no: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128), index=True)
    customer_type: Mapped[str] = mapped_column(String(32), index=True)
    phone: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    # Digests of the phone for the registration desk's look-up (phone_keys above).
    phone_key: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    phone_tail_key: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    id_number: Mapped[Optional[str]] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(255))
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    transformer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_transformer.id"), index=True)
    meter_no: Mapped[Optional[str]] = mapped_column(String(32), index=True)
    contract_capacity_kva: Mapped[Optional[Decimal]] = mapped_column(Numeric(10, 1))
    tariff: Mapped[Optional[str]] = mapped_column(String(64))
    source_updated_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    grid: Mapped[Grid] = relationship()
    transformer: Mapped[Optional[Transformer]] = relationship()
    tags: Mapped[list[CustomerTag]] = relationship(secondary=customer_tag_link)
    intentions: Mapped[list[EnergyIntention]] = relationship(secondary=customer_intention_link)
    bills: Mapped[list["Bill"]] = relationship(
        back_populates="customer", order_by="Bill.period.desc()", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"{self.customer_no} {self.name}"


@event.listens_for(Customer, "before_insert")
@event.listens_for(Customer, "before_update")
def _keep_phone_keys(_mapper: object, _connection: object, customer: Customer) -> None:
    """ORM writes keep the look-up keys; bulk writes (the marketing sync) set them themselves."""
    for key, value in phone_keys(customer.phone).items():
        setattr(customer, key, value)


class Bill(Model):
    """One month's bill with its time-of-use split (尖/峰/平/谷)."""

    __tablename__ = "customer_bill"
    __table_args__ = (
        UniqueConstraint("customer_id", "period", name="uq_bill_customer_period"),
        # Newest period first, ties by id: the bills list's order, read straight from the index.
        Index("ix_bill_period_id", "period", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(6))  # YYYYMM
    total_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    sharp_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    peak_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    flat_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    valley_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    amount_yuan: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    customer: Mapped[Customer] = relationship(back_populates="bills")

    def __repr__(self) -> str:
        return f"{self.period} {self.total_kwh} kWh"
