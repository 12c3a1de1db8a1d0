"""Push delivery of feedback, beside the pull endpoint: each channel may name a callback URL;
every result of the channel is POSTed there, in the order of its number (``seq``), as the
same object the feedback endpoint gives, signed with the channel's secret::

    X-GridCare-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>

A non-2xx answer, a redirect or a connection error is retried after a growing delay
(``RETRY_DELAYS``); after the last try the result waits for an administrator's retry (the
failed-deliveries screen).  Order per channel is kept: while a result is being retried or
waits, no later result of that channel is sent.  The body, signature and retry schedule are
``app.channels.callback_contract``, which the intake gateway delivers with in queue mode
(INTAKE_MODE=queue), when the core sends nothing itself.  No Flask imports here."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import uuid
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.channels.callback_contract import (  # noqa: F401  (the contract, re-exported)
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    SIGNATURE_HEADER,
    TIMEOUT_SECONDS,
    Post,
    after_failure,
    encode,
    headers,
    http_post,
    signature,
    signature_is_valid,
)
from app.channels.feedback import number_results, result_object
from app.channels.settings import settings as channel_settings
from app.models.channel import ChannelCallback, FeedbackOutbox
from app.workflow.errors import InvalidInput, NotFound

PER_CHANNEL_PER_RUN = 200  # keeps one run (every minute) short; the next run goes on
LEASE = dt.timedelta(minutes=5)  # > PER_CHANNEL_PER_RUN calls that answer at once; renewed per call
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def body_of(entry: FeedbackOutbox) -> bytes:
    """The exact bytes sent (and signed): the feedback endpoint's result object as JSON."""
    return encode(result_object(entry))


def delivered_by_gateway() -> bool:
    """In queue mode the intake gateway of the internet zone pushes the results (from the
    results the core sends it): the internal zone has no way out to the platforms, and two
    senders would double every call.  The core then sends nothing itself."""
    return channel_settings.intake_mode == "queue"


# --- settings of a channel's callback ----------------------------------------------------------
def new_secret() -> str:
    return secrets.token_urlsafe(32)


def _check_url(url: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an http:// or https:// address", field="url")
    if len(url) > 500:
        raise InvalidInput("url must be at most 500 characters", field="url")
    return url


def _check_secret(secret: str) -> str:
    secret = secret.strip()
    if not 16 <= len(secret) <= 128:
        raise InvalidInput("secret must be 16 to 128 characters (leave it empty to have one made)",
                           field="secret")
    return secret


@dataclass
class CallbackChange:
    callback: ChannelCallback
    secret_to_show: str | None  # a secret made here, shown to the administrator once


def set_callback(session: Session, channel: str, url: str, *, secret: str | None = None,
                 active: bool = True, user_id: int | None = None,
                 now: dt.datetime | None = None) -> CallbackChange:
    """Set (or change) a channel's callback URL.  A new callback gets a secret: the one
    given, or one made here (returned to show once).  An existing one keeps its secret
    unless one is given.  Pushing starts with the results after the newest one numbered
    now; earlier ones are for the feedback endpoint."""
    from app.channels.intake import API_CHANNELS

    if channel not in API_CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(sorted(API_CHANNELS))}", field="channel")
    url = _check_url(url)
    given = _check_secret(secret) if secret else None
    now = now or clock.now()
    callback = session.scalar(select(ChannelCallback).where(ChannelCallback.channel == channel))
    shown = None
    if callback is None:
        start = session.scalar(select(func.coalesce(func.max(FeedbackOutbox.seq), 0))
                               .where(FeedbackOutbox.channel == channel)) or 0
        shown = None if given else new_secret()
        callback = ChannelCallback(channel=channel, url=url, secret=given or shown, active=active,
                                   start_after_seq=int(start), updated_at=now, updated_by_id=user_id)
        session.add(callback)
    else:
        callback.url, callback.active = url, active
        callback.updated_at, callback.updated_by_id = now, user_id
        if given:
            callback.secret = given
    session.flush()
    return CallbackChange(callback, shown)


def renew_secret(session: Session, callback_id: int, *, user_id: int | None = None,
                 now: dt.datetime | None = None) -> CallbackChange:
    """A new secret for the callback (to give to the platform), returned to show once."""
    callback = session.get(ChannelCallback, callback_id)
    if callback is None:
        raise NotFound(f"callback {callback_id} not found")
    callback.secret = new_secret()
    callback.updated_at, callback.updated_by_id = now or clock.now(), user_id
    session.flush()
    return CallbackChange(callback, callback.secret)


def retry(session: Session, entry_ids: Iterable[int]) -> int:
    """Put results that gave up back in line: the next run tries them again (first, as the
    oldest of their channel).  Returns how many were put back."""
    result = session.execute(update(FeedbackOutbox).where(
        FeedbackOutbox.id.in_(list(entry_ids)), FeedbackOutbox.failed_at.is_not(None),
        FeedbackOutbox.delivered_at.is_(None),
    ).values(failed_at=None, attempts=0, next_attempt_at=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- delivery ------------------------------------------------------------------------------
@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0  # tries that failed in this run (each retried later or left waiting)
    by_gateway: bool = False  # queue mode: the run sent nothing, the gateway delivers

    def as_counts(self) -> dict[str, int]:
        counts = {"delivered": self.delivered, "failed": self.failed}
        if self.by_gateway:
            counts["by_gateway"] = 1
        return counts


def deliver(session: Session, now: dt.datetime, *, post: Post = http_post) -> DeliveryReport:
    """One delivery run over every active callback; ``now`` is the run's business time
    (the delivery and retry times).  Commits as it goes, one result at a time.  In queue
    mode it sends nothing (``delivered_by_gateway``)."""
    if delivered_by_gateway():
        return DeliveryReport(by_gateway=True)
    holder = f"{HOLDER}:{uuid.uuid4().hex[:8]}"[-64:]  # this run, not just this process
    session.commit()  # the sequencer runs on a connection of its own
    number_results(session.get_bind())
    callback_ids = list(session.scalars(select(ChannelCallback.id).where(ChannelCallback.active.is_(True))
                                        .order_by(ChannelCallback.channel)))
    session.commit()
    report = DeliveryReport()
    for callback_id in callback_ids:
        if not _take_lease(session, callback_id, holder):
            continue  # another run is delivering this channel
        try:
            _deliver_channel(session, callback_id, now, post, holder, report)
        finally:
            session.rollback()
            session.execute(update(ChannelCallback).where(
                ChannelCallback.id == callback_id, ChannelCallback.lease_holder == holder,
            ).values(lease_until=None, lease_holder=None))
            session.commit()
    return report


def _take_lease(session: Session, callback_id: int, holder: str) -> bool:
    # The lease is about real time (two processes), not the run's business time.
    moment = clock.now()
    result = session.execute(update(ChannelCallback).where(
        ChannelCallback.id == callback_id,
        or_(ChannelCallback.lease_until.is_(None), ChannelCallback.lease_until < moment),
    ).values(lease_until=moment + LEASE, lease_holder=holder))
    session.commit()
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _deliver_channel(session: Session, callback_id: int, now: dt.datetime, post: Post,
                     holder: str, report: DeliveryReport) -> None:
    callback = session.get(ChannelCallback, callback_id)
    if callback is None or not callback.active:
        return
    channel, url, secret, start = callback.channel, callback.url, callback.secret, callback.start_after_seq
    for _ in range(PER_CHANNEL_PER_RUN):
        entry = session.scalar(select(FeedbackOutbox).where(
            FeedbackOutbox.channel == channel, FeedbackOutbox.seq.is_not(None),
            FeedbackOutbox.seq > start, FeedbackOutbox.delivered_at.is_(None),
        ).order_by(FeedbackOutbox.seq).limit(1))
        if entry is None or entry.failed_at is not None:
            return  # all sent, or the oldest waits for an administrator: nothing after it goes
        if entry.next_attempt_at is not None and entry.next_attempt_at > now:
            return
        entry_id, body = entry.id, body_of(entry)
        session.execute(update(ChannelCallback).where(ChannelCallback.id == callback_id,
                                                      ChannelCallback.lease_holder == holder)
                        .values(lease_until=clock.now() + LEASE))
        session.commit()  # no transaction stays open across the call
        error = post(url, body, headers(secret, body))
        entry = session.get(FeedbackOutbox, entry_id)
        assert entry is not None
        entry.attempts = (entry.attempts or 0) + 1
        if error is None:
            entry.delivered_at, entry.next_attempt_at, entry.last_error = now, None, None
            report.delivered += 1
        else:
            entry.last_error = error[:255]
            report.failed += 1
            entry.next_attempt_at, gave_up = after_failure(entry.attempts, now)
            if gave_up:
                entry.failed_at = now
        session.commit()
        if error is not None:
            return


def delivery_job(session: Session, now: dt.datetime) -> dict[str, int]:
    """The scheduled job (``app.channels.callbacks.delivery_job``)."""
    return deliver(session, now).as_counts()
