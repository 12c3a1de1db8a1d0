"""Security records: revoked API tokens and the append-only audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model, UTCDateTime, utcnow


class RevokedToken(Model):
    """A JWT revoked before its expiry (logout); checked on every API call."""

    __tablename__ = "security_revoked_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id", ondelete="CASCADE"))
    revoked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())


class AuditEntry(Model):
    """Who changed what, when and from where.  Written by the session listener in
    ``app/audit.py``; never updated or deleted except by the retention purge."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id"),
        Index("ix_audit_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    user_id: Mapped[Optional[int]] = mapped_column(Integer)
    username: Mapped[Optional[str]] = mapped_column(String(64))
    remote_addr: Mapped[Optional[str]] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(8))  # create / update / delete
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[Optional[str]] = mapped_column(String(64))
    changes: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
