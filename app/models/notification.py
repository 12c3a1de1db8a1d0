"""Notifications: the bell list of each user (SLA warnings, escalations, work handed to them…),
each person's channels and quiet hours, and the outbox of mails and SMS to deliver."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow


class Notification(Model):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[Optional[str]] = mapped_column(Text)
    link: Mapped[Optional[str]] = mapped_column(String(255))
    order_id: Mapped[Optional[int]] = mapped_column(ForeignKey("work_order.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())


class DeliveryChannel(LabeledEnum):
    MAIL = ("mail", "Mail")
    SMS = ("sms", "SMS")


class DeliveryState(LabeledEnum):
    PENDING = ("pending", "Waiting to be sent")
    SENT = ("sent", "Sent")
    FAILED = ("failed", "Gave up")


class NotificationPreference(Model):
    """How a person wants to be told: in-app always; by mail and by SMS as they choose; quiet
    hours (station time, minutes after midnight) during which mail and SMS wait."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    by_mail: Mapped[bool] = mapped_column(Boolean, default=True)
    by_sms: Mapped[bool] = mapped_column(Boolean, default=True)
    # The number SMS go to; empty: the mobile of the staff profile.
    sms_number: Mapped[Optional[str]] = mapped_column(String(32))
    quiet_start: Mapped[Optional[int]] = mapped_column(Integer)
    quiet_end: Mapped[Optional[int]] = mapped_column(Integer)
    updated_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())


class NotificationDelivery(Model):
    """One mail or SMS of a notification, queued in the transaction that caused it and sent by
    the delivery job; a failed try is retried after a growing delay, then gives up (visible on
    the deliveries screen, where an administrator can put it back in line)."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    body: Mapped[Optional[str]] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    last_error: Mapped[Optional[str]] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    failed_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    lease_until: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    lease_holder: Mapped[Optional[str]] = mapped_column(String(64))

    notification: Mapped[Notification] = relationship()
    user: Mapped[User] = relationship(User, foreign_keys=[user_id], lazy="joined")
