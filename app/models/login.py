"""The login history (登录记录): one row per successful sign-in, written when it happens.

The monthly functional application rate counts the staff who signed in during the month from
these rows, so a past month's figure never changes when someone signs in today (Flask-AppBuilder's
``ab_user.last_login`` only keeps the latest sign-in)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow


class LoginChannel(LabeledEnum):
    WEB = ("web", "Web")
    API = ("api", "API")
    MOBILE = ("mobile", "Mobile app")


class LoginRecord(Model):
    __tablename__ = "login_history"
    __table_args__ = (Index("ix_login_history_time_user", "logged_in_at", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16), default=LoginChannel.WEB.value)
    logged_in_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
