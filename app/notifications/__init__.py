"""Telling people about their work: one ``notify`` writes the in-app notification (the bell in
the navigation bar) and queues its mail and SMS in the same transaction, following each
person's channels and quiet hours (``NotificationPreference``).  Delivery is the job of
``app.notifications.delivery``: a gateway that is down never blocks the action that caused
the message.  No Flask imports here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.models.notification import (
    DeliveryChannel,
    DeliveryState,
    Notification,
    NotificationDelivery,
    NotificationPreference,
)
from app.models.org import StaffProfile
from app.workflow.errors import InvalidInput


@dataclass
class Preference:
    """A person's channels; without a saved preference: mail and SMS where an address exists."""

    by_mail: bool = True
    by_sms: bool = True
    sms_number: str | None = None
    quiet_start: int | None = None  # minutes after midnight, station time
    quiet_end: int | None = None


def preference_of(session: Session, user_id: int) -> Preference:
    row = session.get(NotificationPreference, user_id)
    if row is None:
        return Preference()
    return Preference(bool(row.by_mail), bool(row.by_sms), row.sms_number, row.quiet_start, row.quiet_end)


def quiet_until(pref: Preference, now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet hours ``now`` falls in (UTC), or None outside them.  A window may
    run over midnight (22:00–07:00)."""
    start, end = pref.quiet_start, pref.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(LOCAL_TZ)
    minute = local.hour * 60 + local.minute
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if start < end:
        inside = start <= minute < end
        ends = midnight + dt.timedelta(minutes=end)
    else:
        inside = minute >= start or minute < end
        ends = midnight + dt.timedelta(minutes=end, days=0 if minute < end else 1)
    if not inside:
        return None
    # Add the minutes as wall-clock time in the station's zone (no DST there, but be exact).
    ends = ends.replace(tzinfo=None).replace(tzinfo=LOCAL_TZ)
    return ends.astimezone(dt.timezone.utc)


def minutes_of(text: str | None) -> int | None:
    """``"22:30"`` → 1350; empty → None; anything else raises ValueError."""
    text = (text or "").strip()
    if not text:
        return None
    hours, _, minutes = text.partition(":")
    h, m = int(hours), int(minutes or 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise ValueError(text)
    return h * 60 + m


def hhmm(minutes: int | None) -> str:
    return "" if minutes is None else f"{minutes // 60:02d}:{minutes % 60:02d}"


_PHONE_CHARS = set("0123456789+- ")


def save_preference(session: Session, user_id: int, *, by_mail: Any, by_sms: Any, sms_number: Any,
                    quiet_start: Any, quiet_end: Any, now: dt.datetime) -> Preference:
    """Check and keep a person's choice; ``InvalidInput`` names the field that is wrong."""
    for key, value in (("by_mail", by_mail), ("by_sms", by_sms)):
        if not isinstance(value, bool):
            raise InvalidInput(f"{key} must be true or false", field=key)
    if sms_number is not None and not isinstance(sms_number, str):
        raise InvalidInput("sms_number must be text", field="sms_number")
    number = (sms_number or "").strip()
    if number and (len(number) > 32 or not set(number) <= _PHONE_CHARS or sum(c.isdigit() for c in number) < 5):
        raise InvalidInput("sms_number must be a phone number of digits, at most 32 characters", field="sms_number")
    quiet: dict[str, int | None] = {}
    for key, value in (("quiet_start", quiet_start), ("quiet_end", quiet_end)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{key} must be a time of day such as 22:00", field=key)
        try:
            quiet[key] = minutes_of(value)
        except ValueError:
            raise InvalidInput(f"{key} must be a time of day such as 22:00", field=key) from None
    if (quiet["quiet_start"] is None) != (quiet["quiet_end"] is None):
        raise InvalidInput("give both the start and the end of the quiet hours, or neither", field="quiet_end")
    row = session.get(NotificationPreference, user_id)
    if row is None:
        row = NotificationPreference(user_id=user_id)
        session.add(row)
    row.by_mail, row.by_sms, row.sms_number = by_mail, by_sms, number or None
    row.quiet_start, row.quiet_end = quiet["quiet_start"], quiet["quiet_end"]
    row.updated_at = now
    session.flush()
    return preference_of(session, user_id)


def _addresses(session: Session, user_ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    """Each user's mail address and the mobile of their staff profile."""
    rows = session.execute(
        select(User.id, User.email, StaffProfile.mobile)
        .outerjoin(StaffProfile, StaffProfile.user_id == User.id).where(User.id.in_(user_ids))
    ).all()
    return {uid: (email, mobile) for uid, email, mobile in rows}


def notify(session: Session, user_ids: Iterable[int | None], *, kind: str, title: str, body: str | None,
           now: dt.datetime, order_id: int | None = None, link: str | None = None,
           channels: frozenset[str] = frozenset({"mail", "sms"})) -> list[Notification]:
    """Tell each user (once, whoever is named twice): an in-app notification, and its mail and
    SMS queued per the user's preference.  The caller's transaction holds it all."""
    wanted = [uid for uid in dict.fromkeys(user_ids) if uid is not None]
    if not wanted:
        return []
    made = []
    for user_id in wanted:
        note = Notification(user_id=user_id, kind=kind, title=title[:255], body=body, link=link,
                            order_id=order_id, created_at=now)
        session.add(note)
        made.append(note)
    session.flush()
    addresses = _addresses(session, wanted)
    for note in made:
        queue_external(session, note, now, channels=channels, addresses=addresses)
    return made


def queue_external(session: Session, note: Notification, now: dt.datetime, *,
                   channels: frozenset[str] = frozenset({"mail", "sms"}),
                   addresses: dict[int, tuple[str | None, str | None]] | None = None) -> list[NotificationDelivery]:
    """Queue the mail and SMS of an in-app notification already written."""
    pref = preference_of(session, note.user_id)
    if addresses is None or note.user_id not in addresses:
        addresses = _addresses(session, [note.user_id])
    email, mobile = addresses.get(note.user_id, (None, None))
    due = quiet_until(pref, now) or now
    queued = []
    targets = []
    if "mail" in channels and pref.by_mail and email:
        targets.append((DeliveryChannel.MAIL.value, email))
    number = pref.sms_number or mobile
    if "sms" in channels and pref.by_sms and number:
        targets.append((DeliveryChannel.SMS.value, number))
    for channel, address in targets:
        delivery = NotificationDelivery(
            notification_id=note.id, user_id=note.user_id, channel=channel, address=address,
            subject=note.title, body=note.body, state=DeliveryState.PENDING.value, attempts=0,
            next_attempt_at=due, created_at=now)
        session.add(delivery)
        queued.append(delivery)
    return queued


def unread_count(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0)
