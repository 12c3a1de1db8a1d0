"""Mailing one report to one recipient, with retries and backoff.

Each recipient gets a message of their own, so a mailbox that refuses (550) costs only its
own delivery; every attempt and the last error are recorded on the ``ReportDelivery`` row."""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
from typing import Any, Callable

from app import mail
from app.models.report import DeliveryStatus, ReportDelivery

log = logging.getLogger(__name__)


def deliver(delivery: ReportDelivery, message_for: Callable[[str], Any], smtp_url: str, outbox_dir: str,
            attempts: int = 3, backoff_seconds: float = 2.0, now: Callable[[], dt.datetime] | None = None,
            sleep: Callable[[float], None] = time.sleep) -> bool:
    """Try up to ``attempts`` times, waiting backoff, 2×backoff… between tries."""
    from app.models.base import utcnow

    clock = now or utcnow
    for attempt in range(1, attempts + 1):
        delivery.attempts += 1
        delivery.updated_at = clock()
        try:
            delivery.transport = mail.send(message_for(delivery.recipient), smtp_url, outbox_dir)
        except (smtplib.SMTPException, OSError) as error:
            delivery.last_error = _describe(error)[:2000]
            log.warning("report %s to %s: attempt %d failed: %s", delivery.archive_id, delivery.recipient,
                        attempt, delivery.last_error)
            if attempt < attempts:
                sleep(backoff_seconds * (2 ** (attempt - 1)))
            continue
        delivery.status = DeliveryStatus.SENT.value
        delivery.sent_at = clock()
        delivery.last_error = None
        return True
    delivery.status = DeliveryStatus.FAILED.value
    return False


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                         for rcpt, (code, msg) in error.recipients.items())
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"
