"""Marketing-system sync (营销2.0): one row per run of a file, and the rows it quarantined.

A run is identified by the file's kind and SHA-256 checksum; ``last_row`` is the last row
whose effects are committed, so a run killed part-way resumes after it instead of starting
over.  Quarantined rows keep their row number, raw content and reason until someone
corrects and re-plays them in the browser.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (JSON, Column, Float, ForeignKey, Index, Integer, Numeric, PrimaryKeyConstraint, String,
                        Table, Text, UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import LabeledEnum, Model, UTCDateTime, utcnow


class SyncKind(LabeledEnum):
    CUSTOMERS = ("customers", "Customer archive")
    BILLS = ("bills", "Monthly bills")


class SyncStatus(LabeledEnum):
    RUNNING = ("running", "Running")
    COMPLETED = ("completed", "Completed")
    FAILED = ("failed", "Failed")


class QuarantineStatus(LabeledEnum):
    OPEN = ("open", "Open")
    REPLAYED = ("replayed", "Re-played")
    DISCARDED = ("discarded", "Discarded")


class SyncRun(Model):
    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_kind_checksum", "kind", "checksum"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    checksum: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer, default=0)
    file_format: Mapped[str] = mapped_column(String(16))
    encoding: Mapped[Optional[str]] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=SyncStatus.RUNNING.value)
    holder: Mapped[Optional[str]] = mapped_column(String(128))
    last_row: Mapped[int] = mapped_column(Integer, default=0)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    resumed_count: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[Optional[float]] = mapped_column(Float)
    error: Mapped[Optional[str]] = mapped_column(Text)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"{self.kind} {self.filename}"


class QuarantinedRow(Model):
    """A row that failed validation; ``data`` holds its fields by canonical column name."""

    __tablename__ = "sync_quarantine"
    __table_args__ = (
        UniqueConstraint("kind", "checksum", "row_number", name="uq_sync_quarantine_row"),
        Index("ix_sync_quarantine_status", "status", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sync_run.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    checksum: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    row_number: Mapped[int] = mapped_column(Integer)
    raw: Mapped[str] = mapped_column(Text)
    data: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=QuarantineStatus.OPEN.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[Optional[dt.datetime]] = mapped_column(UTCDateTime())
    resolved_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ab_user.id"))

    run: Mapped[Optional[SyncRun]] = relationship()

    def __repr__(self) -> str:
        return f"{self.filename}:{self.row_number}"


# The customer rows of one batch of one run, loaded with the driver's bulk path (COPY on
# PostgreSQL, executemany elsewhere) so that references, duplicates and changes are checked and
# the archive upserted by a few set-based statements.  Rows live here only inside the batch's
# transaction (loaded, used and deleted before it commits), keyed by the run so that two runs
# never see each other's rows; on PostgreSQL the table is UNLOGGED (nothing in it outlives a
# transaction, so nothing in it needs the write-ahead log).
customer_staging = Table(
    "sync_staging_customer",
    Model.metadata,
    Column("run_id", Integer, nullable=False),
    Column("row_number", Integer, nullable=False),
    Column("customer_no", String(16), nullable=False),
    Column("name", String(128)),
    Column("customer_type", String(32)),
    Column("phone", String(32)),
    Column("phone_key", String(64)),
    Column("phone_tail_key", String(64)),
    Column("id_number", String(32)),
    Column("address", String(255)),
    Column("grid_code", String(32)),
    Column("transformer_code", String(32)),
    Column("meter_no", String(32)),
    Column("contract_capacity_kva", Numeric(10, 1)),
    Column("tariff", String(64)),
    Column("source_updated_at", UTCDateTime()),
    PrimaryKeyConstraint("run_id", "row_number", name="pk_sync_staging_customer"),
)
