"""Policy announcements (政策公告): published to stations and/or roles inside a window,
with attachments and a read receipt per user."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, UTCDateTime, utcnow
from app.models.org import Station

announcement_station = Table(
    "announcement_station",
    Model.metadata,
    Column("announcement_id", ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True),
    Column("station_id", ForeignKey("org_station.id", ondelete="CASCADE"), primary_key=True),
)

announcement_role = Table(
    "announcement_role",
    Model.metadata,
    Column("announcement_id", ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True),
    Column("role_id", ForeignKey("ab_role.id", ondelete="CASCADE"), primary_key=True),
)


class Announcement(Model):
    """No target station means every station; no target role means every role."""

    __tablename__ = "announcement"
    __table_args__ = (Index("ix_announcement_window", "publish_from", "publish_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    publish_from: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    publish_until: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    stations: Mapped[list[Station]] = relationship(secondary=announcement_station)
    roles: Mapped[list[Role]] = relationship(secondary=announcement_role)
    attachments: Mapped[list["AnnouncementAttachment"]] = relationship(
        back_populates="announcement", cascade="all, delete-orphan", order_by="AnnouncementAttachment.id"
    )

    def __repr__(self) -> str:
        return self.title


class AnnouncementAttachment(Model):
    """A file kept content-addressed under DOCUMENT_DIR/announcements/<sha256>."""

    __tablename__ = "announcement_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcement.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    announcement: Mapped[Announcement] = relationship(back_populates="attachments")

    def __repr__(self) -> str:
        return self.filename


class AnnouncementRead(Model):
    __tablename__ = "announcement_read"
    __table_args__ = (UniqueConstraint("announcement_id", "user_id", name="uq_announcement_read"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcement.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    read_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
