"""Delivery of queued mails and SMS (``notification_delivery``): each due message is claimed,
sent with no transaction open across the call, and marked.  A failed try is retried after a
growing delay (``RETRY_DELAYS``); after the last one the message gives up and waits on the
deliveries screen, where an administrator can put it back in line.  Quiet hours are checked
again at sending time (a person may have changed them since).  No Flask imports here."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app import clock, mail
from app.models.notification import DeliveryChannel, DeliveryState, NotificationDelivery
from app.notifications import preference_of, quiet_until
from app.sms import gateway_sender

log = logging.getLogger(__name__)

RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30),
                dt.timedelta(hours=2), dt.timedelta(hours=6))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
PER_RUN = 500
LEASE = dt.timedelta(minutes=2)
HOLDER = f"{socket.gethostname()}:{os.getpid()}"

@dataclass(frozen=True)
class Outgoing:
    """What is sent: read from the row before the call, so no transaction stays open."""

    channel: str
    address: str
    subject: str
    body: str | None


Send = Callable[[Outgoing], None]


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # tries that failed in this run (retried later, or given up)
    deferred: int = 0  # waiting for the end of someone's quiet hours

    def as_counts(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "deferred": self.deferred}


def sender_for(config: Any) -> Send:
    """Mail through ``app.mail`` (SMTP or the outbox folder), SMS through the one SMS adapter."""
    sms = gateway_sender(config)

    def send(item: Outgoing) -> None:
        if item.channel == DeliveryChannel.SMS.value:
            sms.send(item.address, f"【GridCare】{item.subject}" + (f" {item.body}" if item.body else ""))
        else:
            mail.send(mail.build_message(item.address, item.subject, item.body or item.subject),
                      config.get("SMTP_URL", ""), config.get("OUTBOX_DIR", "instance/outbox"))

    return send


def deliver(session: Session, now: dt.datetime, config: Any, *, send: Send | None = None,
            limit: int = PER_RUN) -> DeliveryReport:
    """Send every message due at ``now`` (the run's business time); commits as it goes."""
    send = send or sender_for(config)
    holder = f"{HOLDER}:{uuid.uuid4().hex[:8]}"[-64:]
    due = list(session.scalars(select(NotificationDelivery.id).where(
        NotificationDelivery.state == DeliveryState.PENDING.value,
        or_(NotificationDelivery.next_attempt_at.is_(None), NotificationDelivery.next_attempt_at <= now),
    ).order_by(NotificationDelivery.id).limit(limit)))
    session.commit()
    report = DeliveryReport()
    for delivery_id in due:
        if not _claim(session, delivery_id, holder):
            continue  # another run has it
        item = session.get(NotificationDelivery, delivery_id)
        if item is None or item.state != DeliveryState.PENDING.value:
            continue
        quiet = quiet_until(preference_of(session, item.user_id), now)
        if quiet is not None:
            item.next_attempt_at = quiet
            item.lease_until = item.lease_holder = None
            session.commit()
            report.deferred += 1
            continue
        outgoing = Outgoing(item.channel, item.address, item.subject, item.body)
        session.commit()  # no transaction stays open across the call
        try:
            send(outgoing)
            error = None
        except Exception as failure:  # any channel failure is recorded and retried
            error = f"{type(failure).__name__}: {failure}"[:255]
        item = session.get(NotificationDelivery, delivery_id)
        assert item is not None
        item.attempts = (item.attempts or 0) + 1
        item.lease_until = item.lease_holder = None
        if error is None:
            item.state, item.sent_at, item.next_attempt_at, item.last_error = (
                DeliveryState.SENT.value, now, None, None)
            report.sent += 1
        else:
            log.warning("%s to %s failed (try %d): %s", item.channel, item.address, item.attempts, error)
            item.last_error = error
            report.failed += 1
            if item.attempts >= MAX_ATTEMPTS:
                item.state, item.failed_at, item.next_attempt_at = DeliveryState.FAILED.value, now, None
            else:
                item.next_attempt_at = now + RETRY_DELAYS[item.attempts - 1]
        session.commit()
    return report


def _claim(session: Session, delivery_id: int, holder: str) -> bool:
    moment = clock.now()  # the lease is about real time (two processes), not business time
    result = session.execute(update(NotificationDelivery).where(
        NotificationDelivery.id == delivery_id,
        NotificationDelivery.state == DeliveryState.PENDING.value,
        or_(NotificationDelivery.lease_until.is_(None), NotificationDelivery.lease_until < moment),
    ).values(lease_until=moment + LEASE, lease_holder=holder))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def retry(session: Session, delivery_ids: Iterable[int], now: dt.datetime) -> int:
    """Put given-up messages back in line for the next run; returns how many."""
    result = session.execute(update(NotificationDelivery).where(
        NotificationDelivery.id.in_(list(delivery_ids)),
        NotificationDelivery.state == DeliveryState.FAILED.value,
    ).values(state=DeliveryState.PENDING.value, attempts=0, failed_at=None, next_attempt_at=now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delivery_job(session: Session, now: dt.datetime) -> dict[str, int]:
    """The scheduled job (``app.notifications.delivery.delivery_job``)."""
    config: Any = {}
    try:
        from flask import current_app

        config = current_app.config
    except RuntimeError:
        pass
    return deliver(session, now, config).as_counts()
