"""The mobile app's server-side memory: the first answer to each idempotent request, so a
phone replaying its offline outbox (or retrying over a flaky link) never applies an action
twice."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from sqlalchemy import ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, UTCDateTime, utcnow


class IdempotentRequest(Model):
    """One ``Idempotency-Key`` of one user: the request it named and, once answered, the answer.

    The row is written (and committed) before the action runs: a concurrent repeat then finds
    it and is told to wait instead of running the action a second time. ``status`` is null
    while the first request is still being answered."""

    __tablename__ = "mobile_idempotent_request"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_mobile_idempotent_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    status: Mapped[Optional[int]] = mapped_column(Integer)
    response: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FieldPosition(Model):
    """Where the phone was when a demand met in the field was registered (when it allowed
    the position to be read): evidence that the manager was there, kept beside the order."""

    __tablename__ = "mobile_field_position"

    order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"), primary_key=True)
    latitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal] = mapped_column(Numeric(9, 6))
    accuracy_m: Mapped[Optional[int]] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
