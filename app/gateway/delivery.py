"""Callback delivery from the gateway (queue mode): the internal zone cannot reach the
platforms, so the gateway, which holds every result the core sent back (the order number,
then each result of the order), POSTs them to the channels' callback URLs itself.

The contract is the core's (``app.channels.callback_contract``): one result per POST, the
object the feedback endpoint gives (here the gateway's, ``seq`` its cursor), signed with the
channel's secret, in order per channel, retried after 1 min, 5 min, 30 min, 2 h and 6 h,
then waiting for an administrator's retry (``python -m app.gateway deliver --retry-failed``).
At least once: a result whose POST went through but whose record did not is sent again, with
the same ``seq``, which the platform uses to take each result once.

The callbacks (URL, secret, active) reach the gateway as messages from the core
(``app.gateway.consumer.callbacks_message``); a lease on the callback row keeps two gateway
processes (gunicorn workers, the command line) off the same channel."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from app import clock
from app.channels.callback_contract import Post, after_failure, encode, headers, http_post
from app.gateway import store
from app.gateway.store import callbacks, deliveries, results

log = logging.getLogger("gridcare.gateway")
PER_CHANNEL_PER_RUN = 200  # one run stays short; the next goes on
LEASE = dt.timedelta(minutes=5)  # renewed before every call
HOLDER = f"{socket.gethostname()}:{os.getpid()}"
IDLE_SECONDS = 1.0


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0  # tries that failed in this run (each retried later or left waiting)


def _naive(moment: dt.datetime) -> dt.datetime:
    # The gateway's rows keep naive UTC (as SQLite keeps it).
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def deliver(engine: Engine, now: dt.datetime, *, post: Post = http_post) -> DeliveryReport:
    """One delivery run over every active callback; ``now`` is the run's time (delivery and
    retry times).  Records each try as it goes; no transaction stays open across a call."""
    holder = f"{HOLDER}:{uuid.uuid4().hex[:8]}"[-64:]
    report = DeliveryReport()
    with engine.connect() as conn:
        channels = list(conn.scalars(select(callbacks.c.channel).where(callbacks.c.active.is_(True))
                                     .order_by(callbacks.c.channel)))
    for channel in channels:
        if not _take_lease(engine, channel, holder):
            continue  # another process is delivering this channel
        try:
            _deliver_channel(engine, channel, _naive(now), post, holder, report)
        finally:
            with engine.begin() as conn:
                conn.execute(update(callbacks).where(callbacks.c.channel == channel,
                                                     callbacks.c.lease_holder == holder)
                             .values(lease_until=None, lease_holder=None))
    return report


def _take_lease(engine: Engine, channel: str, holder: str) -> bool:
    moment = _naive(clock.now())  # real time (two processes), not the run's time
    with engine.begin() as conn:
        taken = conn.execute(update(callbacks).where(
            callbacks.c.channel == channel,
            or_(callbacks.c.lease_until.is_(None), callbacks.c.lease_until < moment),
        ).values(lease_until=moment + LEASE, lease_holder=holder))
    return bool(taken.rowcount)


def _deliver_channel(engine: Engine, channel: str, now: dt.datetime, post: Post, holder: str,
                     report: DeliveryReport) -> None:
    for _ in range(PER_CHANNEL_PER_RUN):
        with engine.connect() as conn:
            callback = conn.execute(select(callbacks).where(callbacks.c.channel == channel)).first()
            if callback is None or not callback.active or callback.lease_holder != holder:
                return
            after = max(callback.start_after, callback.delivered_through)
            row = conn.execute(select(results).where(results.c.channel == channel, results.c.id > after)
                               .order_by(results.c.id).limit(1)).first()
            if row is None:
                return  # all sent
            tried = conn.execute(select(deliveries).where(deliveries.c.result_id == row.id)).first()
        if tried is not None and tried.failed_at is not None:
            return  # it waits for an administrator: nothing after it goes
        if tried is not None and tried.next_attempt_at is not None and tried.next_attempt_at > now:
            return
        body = encode(store.result_object(row))
        with engine.begin() as conn:
            conn.execute(update(callbacks).where(callbacks.c.channel == channel,
                                                 callbacks.c.lease_holder == holder)
                         .values(lease_until=_naive(clock.now()) + LEASE))
        error = post(callback.url, body, headers(callback.secret, body))
        attempts = (tried.attempts if tried is not None else 0) + 1
        values = {"channel": channel, "attempts": attempts, "last_error": None, "next_attempt_at": None,
                  "failed_at": None, "delivered_at": None}
        if error is None:
            values["delivered_at"] = now
            report.delivered += 1
        else:
            next_at, gave_up = after_failure(attempts, now)
            values.update(last_error=error[:255], next_attempt_at=next_at, failed_at=now if gave_up else None)
            report.failed += 1
        with engine.begin() as conn:
            conn.execute(delete(deliveries).where(deliveries.c.result_id == row.id))
            conn.execute(insert(deliveries).values(result_id=row.id, **values))
            if error is None:
                conn.execute(update(callbacks).where(callbacks.c.channel == channel,
                                                     callbacks.c.delivered_through < row.id)
                             .values(delivered_through=row.id))
        if error is not None:
            return


def retry_failed(engine: Engine) -> int:
    """Put the results that gave up back in line (first of their channel); returns how many."""
    with engine.begin() as conn:
        put_back = conn.execute(update(deliveries).where(
            deliveries.c.failed_at.is_not(None), deliveries.c.delivered_at.is_(None),
        ).values(failed_at=None, attempts=0, next_attempt_at=None))
    return int(put_back.rowcount or 0)


class Deliverer(threading.Thread):
    """The gateway's delivery loop: a run whenever the listener stored something new, and at
    least every second (for the retries that fall due)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(name="gateway-deliverer", daemon=True)
        self.engine = engine
        self.wake = threading.Event()

    def run(self) -> None:
        while True:
            delivered = 0
            try:
                delivered = deliver(self.engine, clock.now()).delivered
            except Exception as error:  # the gateway database busy or away: the next run goes on
                log.warning("deliverer: %s", error or type(error).__name__)
            if not delivered:  # a run that sent something may have left more: go on at once
                self.wake.wait(IDLE_SECONDS)
                self.wake.clear()
