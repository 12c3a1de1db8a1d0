"""The gateway's own small database (internet zone; SQLite by default, GATEWAY_DATABASE_URL):
the outbox of accepted demands, the valid API keys as the core last sent them (hashed), the
results the core sent back, and the channels' callbacks with the state of their delivery
(``app.gateway.delivery``).  It shares nothing with the core database: its tables live
on a MetaData of their own and are created by the gateway at start.

Why an outbox: a demand is answered 202 once it is stored here, whatever the broker's state;
the publisher sends what is stored and not yet confirmed, so a demand survives a broker
outage and a gateway killed between storing and publishing."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    func,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

demands = Table(
    "gateway_demand", metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt", String(36), nullable=False, unique=True),
    Column("channel", String(32), nullable=False),
    Column("external_id", String(64), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("message", Text, nullable=False),  # the JSON published to the intake exchange
    Column("accepted_at", DateTime, nullable=False),
    Column("published_at", DateTime, index=True),
    # What the core answered: registered (with the order) or refused (with a message).
    Column("outcome", String(16)),
    Column("order_id", Integer),
    Column("number", String(32)),
    Column("state", String(16)),
    Column("deadline", String(40)),
    Column("note", String(255)),
    UniqueConstraint("channel", "external_id", name="uq_gateway_demand_channel_external_id"),
)

api_keys = Table(
    "gateway_api_key", metadata,
    Column("prefix", String(16), primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("key_hash", String(64), nullable=False),
)

# The stations a customer may choose on the public request form (sent with the keys).
stations = Table(
    "gateway_station", metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
)

key_snapshots = Table(
    "gateway_key_snapshot", metadata,
    Column("id", Integer, primary_key=True),
    Column("generated_at", String(40), nullable=False),
)

# One row per result the core sent back, in the order they arrived (one active consumer of
# the results queue): the row id is the feedback cursor platforms page with.
results = Table(
    "gateway_result", metadata,
    Column("id", Integer, primary_key=True),
    Column("dedup", String(160), nullable=False, unique=True),
    Column("channel", String(32), nullable=False, index=True),
    Column("external_id", String(64)),
    Column("body", Text, nullable=False),
    Column("received_at", DateTime, nullable=False),
)

# The channels' callbacks as the core last sent them (the secret as is: the gateway signs
# with it).  ``start_after`` is the last result the gateway held when it learned of the
# callback (older ones are for the feedback endpoint, as on the core); ``delivered_through``
# the last result the callback took: delivery is in order, so every result up to it was.
callbacks = Table(
    "gateway_callback", metadata,
    Column("channel", String(32), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(128), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("start_after", Integer, nullable=False),
    Column("delivered_through", Integer, nullable=False),
    Column("lease_until", DateTime),
    Column("lease_holder", String(64)),
    Column("updated_at", String(40)),
)

# The tries of one result at its channel's callback (a row once a try was made).
deliveries = Table(
    "gateway_delivery", metadata,
    Column("result_id", Integer, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime),
    Column("last_error", String(255)),
    Column("failed_at", DateTime, index=True),
    Column("delivered_at", DateTime),
)

# The time of the newest settings snapshot applied, per kind ("callbacks"): an older one,
# sent by another consumer, arriving later does not undo it.
snapshots = Table(
    "gateway_snapshot", metadata,
    Column("kind", String(16), primary_key=True),
    Column("generated_at", String(40), nullable=False),
)


def utcnow() -> dt.datetime:
    # Bookkeeping time of the gateway's own rows (naive UTC, as SQLite keeps it).
    from app.models.base import utcnow as core_utcnow

    return core_utcnow().replace(tzinfo=None)


def make_engine(url: str) -> Engine:
    from app import _tune_sqlite

    engine = create_engine(url, pool_pre_ping=True)
    _tune_sqlite(engine)
    metadata.create_all(engine)
    return engine


def _hash(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def find_key(engine: Engine, plain: str | None) -> tuple[str, str] | None:
    """(prefix, channel) of the valid key ``plain``, or None; same key format as the core."""
    if not plain:
        return None
    parts = plain.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "gck":
        return None
    with engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.prefix == parts[1])).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(plain.strip())):
        return None
    return row.prefix, row.channel


def key_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(api_keys.c.prefix)).all())


@dataclass
class Accepted:
    receipt: dict[str, Any]
    created: bool
    conflict: bool = False


def receipt_of(row: Any) -> dict[str, Any]:
    return {"receipt": row.receipt, "external_id": row.external_id,
            "status": row.outcome or ("published" if row.published_at else "accepted"),
            "id": row.order_id, "number": row.number, "state": row.state,
            "deadline": row.deadline, "message": row.note}


def station_list(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(row.code, row.name) for row in conn.execute(select(stations).order_by(stations.c.code))]


def accept(engine: Engine, channel: str, key_prefix: str, external_id: str, fingerprint: str,
           demand: dict[str, Any], kind: str = "intake", receipt: str | None = None) -> Accepted:
    """Store the demand once per (channel, external_id); a repeat gets the first receipt,
    a repeat with another payload a conflict."""
    receipt = receipt or str(uuid.uuid4())
    message = {"kind": kind, "receipt": receipt, "channel": channel, "key_prefix": key_prefix,
               "external_id": external_id, "demand": demand,
               "accepted_at": utcnow().isoformat() + "Z"}
    try:
        with engine.begin() as conn:
            conn.execute(insert(demands).values(
                receipt=receipt, channel=channel, external_id=external_id, fingerprint=fingerprint,
                message=json.dumps(message, ensure_ascii=False), accepted_at=utcnow()))
            row = conn.execute(select(demands).where(demands.c.receipt == receipt)).one()
        return Accepted(receipt_of(row), created=True)
    except IntegrityError:
        pass
    with engine.connect() as conn:
        row = conn.execute(select(demands).where(demands.c.channel == channel,
                                                 demands.c.external_id == external_id)).one()
    return Accepted(receipt_of(row), created=False, conflict=row.fingerprint != fingerprint)


def find_receipt(engine: Engine, channel: str, receipt: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(demands).where(demands.c.channel == channel,
                                                 demands.c.receipt == receipt)).first()
    return receipt_of(row) if row is not None else None


def unpublished(engine: Engine, limit: int = 200) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(demands.c.id, demands.c.receipt, demands.c.message)
                            .where(demands.c.published_at.is_(None))
                            .order_by(demands.c.id).limit(limit)).all()
    return [(row.id, row.receipt, row.message) for row in rows]


def mark_published(engine: Engine, ids: list[int]) -> None:
    if not ids:
        return
    with engine.begin() as conn:
        conn.execute(update(demands).where(demands.c.id.in_(ids), demands.c.published_at.is_(None))
                     .values(published_at=utcnow()))


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        total = len(conn.execute(select(demands.c.id)).all())
        waiting = len(conn.execute(select(demands.c.id).where(demands.c.published_at.is_(None))).all())
        registered = len(conn.execute(select(demands.c.id).where(demands.c.outcome == "registered")).all())
        keys = len(conn.execute(select(api_keys.c.prefix)).all())
        stored_results = len(conn.execute(select(results.c.id)).all())
        active_callbacks = len(conn.execute(select(callbacks.c.channel).where(callbacks.c.active.is_(True))).all())
        delivered = len(conn.execute(select(deliveries.c.result_id)
                                     .where(deliveries.c.delivered_at.is_not(None))).all())
        gave_up = len(conn.execute(select(deliveries.c.result_id).where(
            deliveries.c.failed_at.is_not(None), deliveries.c.delivered_at.is_(None))).all())
    return {"accepted": total, "unpublished": waiting, "registered": registered, "keys": keys,
            "results": stored_results, "callbacks": active_callbacks, "delivered": delivered,
            "delivery_failed": gave_up}


# --- what the core sends back ------------------------------------------------------------------
def apply_message(engine: Engine, message: dict[str, Any]) -> None:
    """Store one message of the results queue (idempotent: the broker delivers at least once)."""
    kind = message.get("type")
    with engine.begin() as conn:
        if kind == "keys":
            latest = conn.execute(select(key_snapshots.c.generated_at)
                                  .order_by(key_snapshots.c.id.desc()).limit(1)).scalar()
            if latest is not None and latest > message["generated_at"]:
                return  # an older snapshot overtaken by a newer one
            conn.execute(delete(api_keys))
            if message["keys"]:
                conn.execute(insert(api_keys), [
                    {"prefix": k["prefix"], "channel": k["channel"], "key_hash": k["key_hash"]}
                    for k in message["keys"]])
            conn.execute(delete(stations))
            if message.get("stations"):
                conn.execute(insert(stations), [{"code": st["code"], "name": st["name"]}
                                                for st in message["stations"]])
            conn.execute(delete(key_snapshots))
            conn.execute(insert(key_snapshots).values(generated_at=message["generated_at"]))
        elif kind == "registered":
            conn.execute(update(demands).where(demands.c.channel == message["channel"],
                                               demands.c.external_id == message["external_id"])
                         .values(outcome="registered", order_id=message["id"],
                                 number=message["number"], state=message["state"],
                                 deadline=message.get("deadline")))
            body = {"id": message["id"], "number": message["number"],
                    "external_id": message["external_id"], "state": message["state"],
                    "resolution": None, "resolved_at": None, "timely": None, "evaluation": None,
                    "action": "register", "changed_at": message.get("registered_at")}
            _add_result(conn, f"register:{message['channel']}:{message['external_id']}",
                        message["channel"], message["external_id"], body)
        elif kind == "refused":
            conn.execute(update(demands).where(demands.c.channel == message["channel"],
                                               demands.c.external_id == message["external_id"])
                         .values(outcome="refused", note=str(message.get("message", ""))[:255]))
        elif kind == "result":
            result = dict(message["result"])
            _add_result(conn, f"seq:{result.get('seq')}", message["channel"],
                        result.get("external_id"), result)
        elif kind == "callbacks":
            _apply_callbacks(conn, message)


def _apply_callbacks(conn: Any, message: dict[str, Any]) -> None:
    """The channels' callbacks as the core has them now: new ones start after the newest
    result held here, changed ones keep their place in the delivery, those the core no
    longer has stop."""
    latest = conn.execute(select(snapshots.c.generated_at).where(snapshots.c.kind == "callbacks")).scalar()
    if latest is not None and latest > message["generated_at"]:
        return  # an older snapshot overtaken by a newer one
    known = {row.channel for row in conn.execute(select(callbacks.c.channel))}
    sent = {str(c["channel"]): c for c in message["callbacks"]}
    for channel, c in sent.items():
        values = {"url": str(c["url"]), "secret": str(c["secret"]), "active": bool(c["active"]),
                  "updated_at": c.get("updated_at")}
        if channel in known:
            conn.execute(update(callbacks).where(callbacks.c.channel == channel).values(**values))
        else:
            start = conn.execute(select(func.coalesce(func.max(results.c.id), 0))
                                 .where(results.c.channel == channel)).scalar() or 0
            conn.execute(insert(callbacks).values(channel=channel, start_after=start,
                                                  delivered_through=start, **values))
    gone = known - set(sent)
    if gone:
        conn.execute(update(callbacks).where(callbacks.c.channel.in_(gone)).values(active=False))
    conn.execute(delete(snapshots).where(snapshots.c.kind == "callbacks"))
    conn.execute(insert(snapshots).values(kind="callbacks", generated_at=message["generated_at"]))


def _add_result(conn: Any, dedup: str, channel: str, external_id: str | None,
                body: dict[str, Any]) -> None:
    if conn.execute(select(results.c.id).where(results.c.dedup == dedup)).first() is not None:
        return
    conn.execute(insert(results).values(dedup=dedup, channel=channel, external_id=external_id,
                                        body=json.dumps(body, ensure_ascii=False),
                                        received_at=utcnow()))


def feedback_page(engine: Engine, channel: str, after: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The channel's results after the gateway cursor ``after``, each once, in arrival order;
    each result's ``seq`` is its gateway cursor."""
    with engine.connect() as conn:
        rows = conn.execute(select(results).where(results.c.channel == channel, results.c.id > after)
                            .order_by(results.c.id).limit(limit)).all()
    return [result_object(row) for row in rows], (rows[-1].id if rows else after)


def result_object(row: Any) -> dict[str, Any]:
    """One result as the gateway's feedback endpoint gives it and its callback delivery
    sends it: the core's result object, its ``seq`` the gateway's cursor."""
    body = json.loads(row.body)
    body["seq"] = row.id
    return body
