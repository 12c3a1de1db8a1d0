"""Policy announcements: who sees which (publish window, target stations and roles), read
receipts, and attachments kept content-addressed under DOCUMENT_DIR/announcements."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.announcement import (
    Announcement,
    AnnouncementAttachment,
    AnnouncementRead,
    announcement_role,
    announcement_station,
)
from app.models.base import utcnow
from app.workflow.errors import InvalidInput, NotFound

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


def visible_clause(station_id: int | None, role_ids: list[int], now: dt.datetime) -> Any:
    """Published now, and aimed at the reader's station (or every station) and one of the
    reader's roles (or every role)."""
    no_station = ~exists().where(announcement_station.c.announcement_id == Announcement.id)
    no_role = ~exists().where(announcement_role.c.announcement_id == Announcement.id)
    station_ok = no_station
    if station_id is not None:
        station_ok = or_(no_station, exists().where(and_(
            announcement_station.c.announcement_id == Announcement.id,
            announcement_station.c.station_id == station_id)))
    role_ok = no_role
    if role_ids:
        role_ok = or_(no_role, exists().where(and_(
            announcement_role.c.announcement_id == Announcement.id,
            announcement_role.c.role_id.in_(role_ids))))
    return and_(Announcement.publish_from <= now,
                or_(Announcement.publish_until.is_(None), Announcement.publish_until > now),
                station_ok, role_ok)


def _reader(user: Any, station_id: int | None) -> tuple[int | None, list[int]]:
    return station_id, [role.id for role in getattr(user, "roles", []) or []]


def current_for(session: Session, user: Any, station_id: int | None, now: dt.datetime | None = None,
                limit: int = 100) -> list[tuple[Announcement, dt.datetime | None]]:
    """The reader's current announcements, newest first, each with when they read it."""
    now = now or utcnow()
    sid, role_ids = _reader(user, station_id)
    rows = session.execute(
        select(Announcement, AnnouncementRead.read_at)
        .outerjoin(AnnouncementRead, and_(AnnouncementRead.announcement_id == Announcement.id,
                                          AnnouncementRead.user_id == user.id))
        .where(visible_clause(sid, role_ids, now))
        .order_by(Announcement.publish_from.desc(), Announcement.id.desc()).limit(limit)
    ).all()
    return [(a, read_at) for a, read_at in rows]


def get_for(session: Session, user: Any, station_id: int | None, announcement_id: int,
            now: dt.datetime | None = None) -> Announcement:
    sid, role_ids = _reader(user, station_id)
    found = session.scalar(select(Announcement).where(
        Announcement.id == announcement_id, visible_clause(sid, role_ids, now or utcnow())))
    if found is None:
        raise NotFound("no such announcement")
    return found


def mark_read(session: Session, announcement_id: int, user_id: int, now: dt.datetime | None = None) -> dt.datetime:
    """Record the receipt once; the first reading time is kept."""
    existing = session.scalar(select(AnnouncementRead).where(
        AnnouncementRead.announcement_id == announcement_id, AnnouncementRead.user_id == user_id))
    if existing is not None:
        return existing.read_at
    # Whole seconds: MySQL keeps no fractions, and the same receipt must read the same everywhere.
    receipt = AnnouncementRead(announcement_id=announcement_id, user_id=user_id,
                               read_at=(now or utcnow()).replace(microsecond=0))
    try:
        with session.begin_nested():
            session.add(receipt)
    except IntegrityError:  # the same user on two devices at once
        return session.scalar(select(AnnouncementRead.read_at).where(
            AnnouncementRead.announcement_id == announcement_id, AnnouncementRead.user_id == user_id))
    return receipt.read_at


def store_attachment(session: Session, announcement: Announcement, filename: str, content: bytes,
                     content_type: str, document_dir: str) -> AnnouncementAttachment:
    if not content:
        raise InvalidInput("the file is empty", field="file")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput("the file is larger than 20 MB", field="file")
    digest = hashlib.sha256(content).hexdigest()
    folder = Path(document_dir) / "announcements"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        tmp = folder / f".{digest}.tmp"
        tmp.write_bytes(content)
        tmp.replace(target)
    safe_name = Path(filename or "attachment").name[:255] or "attachment"
    attachment = AnnouncementAttachment(announcement_id=announcement.id, filename=safe_name,
                                        content_type=(content_type or "application/octet-stream")[:128],
                                        size=len(content), sha256=digest)
    session.add(attachment)
    session.flush()
    return attachment


def attachment_path(attachment: AnnouncementAttachment, document_dir: str) -> Path:
    return Path(document_dir) / "announcements" / attachment.sha256
