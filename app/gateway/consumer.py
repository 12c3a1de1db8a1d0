"""The consumer of the internal zone (``flask --app app gridcare consume``): takes the
demands the gateway published, registers each exactly once through the workflow intake
(``app.channels.intake.intake``: the database's unique (channel, external_id) decides, also
between consumers and redeliveries), sends the order back to the gateway, and only then
acknowledges the message.  A consumer killed at any point leaves the message unacknowledged;
the broker gives it to another consumer, whose intake finds the order and answers with it.

Beside that it relays the feedback outbox (results of platforms' orders, in ``seq`` order),
the valid API keys (hashed) and the channels' callbacks (URL and signing secret: the gateway
delivers the callbacks in queue mode, ``app.gateway.delivery``) to the gateway.  A message that cannot be registered as it
is (not JSON, an unknown key, a bad field) is poison: it goes to the dead-letter queue with
the reason in its headers, for an administrator to fix and replay (Settings → Dead letters)."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from app.channels import feedback, intake
from app.gateway import broker
from app.models.base import utcnow
from app.models.channel import ChannelApiKey, ChannelCallback, FeedbackOutbox
from app.models.gateway import IntakeRelay
from app.workflow.actor import ADMIN, CHANNEL_CLIENT, Actor
from app.workflow.errors import InvalidInput

log = logging.getLogger("gridcare.consumer")
RELAY_ID = 1
RELAY_BATCH = 500


class Poison(Exception):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


def _actor(key: ChannelApiKey) -> Actor:
    # As the direct intake API registers: the platform's key, company-wide scope.
    return Actor(user_id=None, username=f"apikey:{key.prefix}", display_name=key.name,
                 roles=frozenset({CHANNEL_CLIENT, ADMIN}))


def register(session: Session, body: bytes) -> dict[str, Any]:
    """Register one intake message; return the message for the gateway.  Raises Poison for
    a message that cannot be registered as it is."""
    try:
        message = json.loads(body)
        if isinstance(message, dict) and message.get("kind") == "public":
            return register_public(session, message)
        channel, prefix = message["channel"], message["key_prefix"]
        payload, receipt = message["demand"], message.get("receipt")
    except (ValueError, KeyError, TypeError):
        raise Poison("not an intake message: JSON with channel, key_prefix and demand expected",
                     "body") from None
    key = session.scalar(select(ChannelApiKey).where(ChannelApiKey.prefix == str(prefix)))
    if key is None or key.channel != channel:
        raise Poison(f"no API key {str(prefix)[:16]} of channel {str(channel)[:32]}", "key_prefix")
    try:
        demand = intake.validate(payload, utcnow())
        order, created = intake.intake(session, _actor(key), channel, demand, station_id=key.station_id)
    except intake.PayloadConflict as error:
        session.rollback()
        return {"type": "refused", "channel": channel, "external_id": payload.get("external_id"),
                "receipt": receipt, "status": 409, "message": error.message}
    except InvalidInput as error:
        session.rollback()
        raise Poison(error.message, error.field) from None
    return {"type": "registered", "channel": channel, "external_id": order.external_id,
            "receipt": receipt, "id": order.id, "number": order.number, "state": order.state,
            "deadline": order.deadline.isoformat() if order.deadline else None,
            "registered_at": order.registered_at.isoformat() if order.registered_at else None,
            "created": created}


def register_public(session: Session, message: dict[str, Any]) -> dict[str, Any]:
    """A request of the public form taken at the gateway: registered as the core's own form
    does (channel online_nonfault), once: the receipt is the order's external id, so the
    unique (channel, external_id) makes a redelivery the same order."""
    from app.models.customer import Customer
    from app.models.org import Station
    from app.models.workorder import Channel, DemandType
    from app.views.channel_branch import PUBLIC_ACTOR
    from app.workflow import service

    try:
        form, receipt = message["demand"], str(message["receipt"])
        phone = intake.normalise_phone(str(form["phone"]))
        station = session.scalar(select(Station).where(Station.code == str(form["station"])))
    except (KeyError, TypeError):
        raise Poison("not a public request: demand with phone and station expected", "body") from None
    if phone is None:
        raise Poison("phone is not a valid mobile (11 digits) or landline number", "phone")
    if station is None:
        raise Poison(f"no station {str(form['station'])[:32]}", "station")
    channel = Channel.ONLINE_NONFAULT.value
    order = intake.find_order(session, channel, receipt)
    if order is None:
        customer = None
        if form.get("customer_no"):
            customer = session.scalar(select(Customer).where(Customer.customer_no == str(form["customer_no"])))
        try:
            order = service.register_order(
                session, PUBLIC_ACTOR, channel=channel, demand_type=DemandType.SERVICE.value,
                content=str(form["content"])[:2000], contact_name=str(form["contact_name"])[:64],
                phone=phone, address=str(form["address"])[:255], external_id=receipt,
                customer_no=customer.customer_no if customer else None,
                extra=None if customer else {"station_id": station.id})
            if customer is not None and customer.grid.station_id != station.id:
                order.station_id = customer.grid.station_id
            session.commit()
        except IntegrityError:
            session.rollback()  # another delivery of the same request won
            order = intake.find_order(session, channel, receipt)
            assert order is not None
    return {"type": "registered", "channel": channel, "external_id": receipt, "receipt": receipt,
            "id": order.id, "number": order.number, "state": order.state,
            "deadline": order.deadline.isoformat() if order.deadline else None,
            "registered_at": order.registered_at.isoformat() if order.registered_at else None, "created": True}


def relay_results(session: Session, channel: Any, names: broker.Topology) -> int:
    """Publish the feedback results numbered since the last relay, in ``seq`` order; the
    cursor row is locked meanwhile, so relays of several consumers take turns and send
    each result once (again only if a relay dies between publishing and its commit)."""
    session.commit()
    feedback.number_results(session.get_bind())
    relay = session.scalar(select(IntakeRelay).where(IntakeRelay.id == RELAY_ID).with_for_update())
    if relay is None:
        session.rollback()
        try:
            session.execute(insert(IntakeRelay).values(id=RELAY_ID, last_seq=0))
            session.commit()
        except IntegrityError:
            session.rollback()
        return 0
    entries = list(session.scalars(
        select(FeedbackOutbox).where(FeedbackOutbox.seq > relay.last_seq,
                                     FeedbackOutbox.channel.in_(intake.API_CHANNELS))
        .order_by(FeedbackOutbox.seq).limit(RELAY_BATCH)))
    if not entries:
        session.rollback()
        return 0
    for entry in entries:
        broker.publish(channel, names.results, "result",
                       {"type": "result", "channel": entry.channel,
                        "result": feedback.result_object(entry)})
    session.execute(update(IntakeRelay).where(IntakeRelay.id == RELAY_ID)
                    .values(last_seq=int(entries[-1].seq or 0)))
    session.commit()
    return len(entries)


def keys_message(session: Session) -> dict[str, Any]:
    """The valid API keys (hashes only) and the stations of the public form, for the gateway."""
    from app.models.org import Station

    keys = session.scalars(select(ChannelApiKey).where(ChannelApiKey.revoked_at.is_(None))).all()
    message = {"type": "keys", "generated_at": utcnow().isoformat(),
               "keys": [{"prefix": k.prefix, "channel": k.channel, "key_hash": k.key_hash} for k in keys],
               "stations": [{"code": s.code, "name": s.name}
                            for s in session.scalars(select(Station).order_by(Station.code))]}
    session.rollback()
    return message


def callbacks_message(session: Session) -> dict[str, Any]:
    """The channels' callbacks as set in the core, for the gateway that delivers them.  The
    secret travels as is: the gateway signs each body with it (keep the broker link amqps)."""
    rows = session.scalars(select(ChannelCallback).order_by(ChannelCallback.channel)).all()
    message = {"type": "callbacks", "generated_at": utcnow().isoformat(),
               "callbacks": [{"channel": c.channel, "url": c.url, "secret": c.secret, "active": c.active,
                              "updated_at": c.updated_at.isoformat() if c.updated_at else None}
                             for c in rows]}
    session.rollback()
    return message


def dead_letter(channel: Any, names: broker.Topology, method: Any, props: Any, body: bytes,
                error: Poison) -> None:
    headers = dict(props.headers or {})
    headers.update({"x-error": error.message[:500], "x-field": error.field or "",
                    "x-failed-at": utcnow().isoformat(),
                    "x-consumer": f"{socket.gethostname()}:{os.getpid()}"})
    import pika

    channel.basic_publish(names.dead, "", body, pika.BasicProperties(
        delivery_mode=2, content_type=props.content_type or "application/json",
        message_id=props.message_id, headers=headers), mandatory=True)
    channel.basic_ack(method.delivery_tag)


def run(session: Session, url: str, names: broker.Topology, prefetch: int = 20,
        relay_seconds: float = 1.0, key_seconds: float = 30.0, stop: Any = None) -> None:
    """Consume until ``stop()`` is true (never, from the command line); reconnect after a
    broker outage."""
    while stop is None or not stop():
        try:
            connection = broker.connect(url)
        except Exception as error:
            log.warning("consumer: broker unreachable (%s); retrying", error or type(error).__name__)
            time.sleep(1)
            continue
        try:
            _consume(connection, session, names, prefetch, relay_seconds, key_seconds, stop)
        except Exception as error:
            if isinstance(error, DBAPIError):
                session.rollback()
            log.warning("consumer: %s; reconnecting", error or type(error).__name__)
            time.sleep(1)
        finally:
            if connection.is_open:
                connection.close()


def _consume(connection: Any, session: Session, names: broker.Topology, prefetch: int,
             relay_seconds: float, key_seconds: float, stop: Any) -> None:
    channel = broker.open_channel(connection, names)
    channel.basic_qos(prefetch_count=prefetch)
    log.info("consumer connected, taking %s", names.intake)
    next_relay = next_keys = 0.0
    sent_callbacks: list[dict[str, Any]] | None = None
    for method, props, body in channel.consume(names.intake, inactivity_timeout=0.2):
        if stop is not None and stop():
            channel.cancel()
            return
        if method is not None:
            try:
                answer = register(session, body)
            except Poison as error:
                session.rollback()
                log.error("dead-lettered message %s: %s", props.message_id, error.message)
                dead_letter(channel, names, method, props, body, error)
            except DBAPIError:
                # The database is away or busy: the message goes back, this consumer retries.
                session.rollback()
                channel.basic_nack(method.delivery_tag, requeue=True)
                time.sleep(0.5)
            else:
                broker.publish(channel, names.results, "result", answer)
                channel.basic_ack(method.delivery_tag)
        now = time.monotonic()
        if now >= next_relay:
            # A callback set or changed in the core reaches the gateway within a relay tick;
            # the gateway pushes the results it receives after that.
            callbacks = callbacks_message(session)
            if callbacks["callbacks"] != sent_callbacks or now >= next_keys:
                broker.publish(channel, names.results, "result", callbacks)
                sent_callbacks = callbacks["callbacks"]
        if now >= next_keys:
            broker.publish(channel, names.results, "result", keys_message(session))
            next_keys = now + key_seconds
        if now >= next_relay:
            relay_results(session, channel, names)
            next_relay = now + relay_seconds
