"""Document center (文档中心): photos and videos attached to on-site records and work orders.

The bytes live in the document store (content-addressed by SHA-256, see
``app.documents.store``); this table says what each upload is, whom it belongs to and
which grid it is scoped to, so serving can check the viewer's scope without loading the owner.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow


class DocumentKind(LabeledEnum):
    PHOTO = ("photo", "Photo")
    VIDEO = ("video", "Video")


class OwnerType(LabeledEnum):
    VISIT = ("visit", "Customer visit")
    SERVICE_RECORD = ("service_record", "On-site service record")
    SAFETY_RECORD = ("safety_record", "Safety supervision record")
    EQUIPMENT = ("equipment", "Equipment record")
    ANOMALY = ("anomaly", "Box-meter anomaly")
    WORK_ORDER = ("work_order", "Work order")


class Document(Model):
    __tablename__ = "document"
    __table_args__ = (Index("ix_document_owner", "owner_type", "owner_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[Optional[str]] = mapped_column(String(255))
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_id: Mapped[int] = mapped_column(Integer)
    # Copied from the owner at upload: serving checks scope on these alone.
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_grid.id"), index=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("org_station.id"))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))
    uploaded_by_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"{self.kind} {self.original_name or self.sha256[:12]}"
