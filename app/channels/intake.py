"""Intake of demands posted by external platforms (12345 hotline, three-services app,
grassroots governance platform, OA system).

Validation names the offending field.  Exactly one order per (channel, external_id): the
database's unique constraint decides between concurrent retries; the loser rolls back and
answers with the winner's order.  Because that decision needs a commit, ``intake`` commits
(unlike the other services, whose callers commit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.channels.settings import settings
from app.models.workorder import Channel, DemandType, WorkOrder
from app.workflow import service
from app.workflow.actor import Actor
from app.workflow.calendar import LOCAL_TZ
from app.workflow.errors import DomainError, InvalidInput

API_CHANNELS = (
    Channel.HOTLINE_12345.value,
    Channel.THREE_SERVICES.value,
    Channel.GRASSROOTS_GRID.value,
    Channel.OA_DEMAND.value,
)
REQUIRED = ("external_id", "demand_type", "content", "phone", "received_at")
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}$")
_CUSTOMER_NO = re.compile(r"^\d{6,16}$")


class PayloadConflict(DomainError):
    status = 409


@dataclass(frozen=True)
class Demand:
    external_id: str
    demand_type: str
    content: str
    phone: str
    received_at: dt.datetime
    contact_name: str | None = None
    address: str | None = None
    customer_no: str | None = None
    source_deadline: dt.datetime | None = None

    def fingerprint(self) -> str:
        """SHA-256 of the normalised demand: a retry hashes the same, a changed one not."""
        values = asdict(self)
        for key in ("received_at", "source_deadline"):
            if values[key] is not None:
                values[key] = values[key].astimezone(dt.timezone.utc).isoformat()
        text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_phone(value: str) -> str | None:
    phone = re.sub(r"[\s()]", "", value)
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    if _MOBILE.match(phone) or _LANDLINE.match(phone):
        return phone
    return None


def parse_time(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be an ISO 8601 time such as 2026-11-28T09:30:00+08:00",
                           field=field)
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{field} is not a valid ISO 8601 time: {value[:40]!r}", field=field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)  # the platforms speak Beijing time
    return parsed.astimezone(dt.timezone.utc)


def _text(data: dict[str, Any], key: str, limit: int, required: bool) -> str | None:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{key} is required", field=key)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string", field=key)
    if len(value) > limit:
        raise InvalidInput(f"{key} is longer than {limit} characters", field=key)
    return value.strip()


def validate(data: Any, now: dt.datetime) -> Demand:
    """Check a posted demand field by field; raise InvalidInput naming the first bad field."""
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    for key in REQUIRED:
        if data.get(key) in (None, ""):
            raise InvalidInput(f"{key} is required", field=key)
    external_id = _text(data, "external_id", 64, True)
    assert external_id is not None
    if not _EXTERNAL_ID.match(external_id):
        raise InvalidInput("external_id may hold letters, digits and . _ : / - (at most 64)",
                           field="external_id")
    demand_type = _text(data, "demand_type", 32, True)
    try:
        DemandType(demand_type)
    except ValueError:
        allowed = ", ".join(d.value for d in DemandType)
        raise InvalidInput(f"demand_type must be one of {allowed}", field="demand_type") from None
    content = _text(data, "content", settings.intake_max_content_chars, True)
    raw_phone = _text(data, "phone", 32, True)
    phone = normalise_phone(raw_phone or "")
    if phone is None:
        raise InvalidInput("phone is not a valid mobile (11 digits) or landline number", field="phone")
    received_at = parse_time(data.get("received_at"), "received_at")
    if received_at > now + dt.timedelta(minutes=10):
        raise InvalidInput("received_at lies in the future", field="received_at")
    source_deadline = None
    if data.get("source_deadline") not in (None, ""):
        source_deadline = parse_time(data["source_deadline"], "source_deadline")
    customer_no = _text(data, "customer_no", 16, False)
    if customer_no is not None and not _CUSTOMER_NO.match(customer_no):
        raise InvalidInput("customer_no must be digits only", field="customer_no")
    return Demand(
        external_id=external_id, demand_type=demand_type or "", content=content or "",
        phone=phone, received_at=received_at,
        contact_name=_text(data, "contact_name", 64, False),
        address=_text(data, "address", 255, False),
        customer_no=customer_no, source_deadline=source_deadline,
    )


def find_order(session: Session, channel: str, external_id: str) -> WorkOrder | None:
    return session.scalar(
        select(WorkOrder).where(WorkOrder.channel == channel, WorkOrder.external_id == external_id)
    )


_KNOWN = select(WorkOrder.id).where(
    WorkOrder.channel == bindparam("channel"), WorkOrder.external_id == bindparam("external_id"))

# On SQLite every transaction begins IMMEDIATE (app/__init__.py), so writers queue on the
# busy timeout; a lock error that still comes through (or a deadlock on the others) is retried.
_TRANSIENT = ("database is locked", "deadlock", "lock wait timeout", "could not serialize")


def intake(session: Session, actor: Actor, channel: str, demand: Demand,
           now: dt.datetime | None = None, attempts: int = 6,
           station_id: int | None = None,
           before_commit: Callable[[WorkOrder, bool], None] | None = None) -> tuple[WorkOrder, bool]:
    """Register the demand once; return (order, created).  A repeat with the same payload
    returns the existing order; a different payload under the same external_id is refused.

    One transaction and one commit per demand: ``before_commit(order, created)`` runs just
    before it (the order flushed, ids known), so that what the caller adds (the key's use)
    commits with the registration, or with the answer to a repeat."""
    if channel not in API_CHANNELS:
        raise InvalidInput(f"{channel} does not take demands through the intake API", field="channel")
    fingerprint = demand.fingerprint()
    for attempt in range(attempts):
        try:
            # The first attempt takes the demand for a new one (the usual case) without looking:
            # a repeat fails the unique constraint on (channel, external_id) at the insert, and
            # the next attempt finds the order registered before.
            known = None if attempt == 0 else session.execute(
                _KNOWN, {"channel": channel, "external_id": demand.external_id}).first()
            if known is not None:
                existing = session.get(WorkOrder, known.id)
                assert existing is not None
                _check_same(existing, fingerprint)
                return _finish(session, existing, False, before_commit)
            order = service.register_order(
                session, actor, channel=channel, demand_type=demand.demand_type,
                content=demand.content, contact_name=demand.contact_name, phone=demand.phone,
                address=demand.address, customer_no=demand.customer_no,
                external_id=demand.external_id, payload_hash=fingerprint,
                received_at=demand.received_at, source_deadline=demand.source_deadline, now=now,
            )
            if order.station_id is None and station_id is not None:
                order.station_id = station_id  # no known customer: the key's station takes it
            return _finish(session, order, True, before_commit)
        except IntegrityError:
            # A repeat, or another retry of the same demand won the race: answer with its order.
            session.rollback()
        except OperationalError as error:
            session.rollback()
            if not any(t in str(error).lower() for t in _TRANSIENT) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    existing = find_order(session, channel, demand.external_id)
    if existing is None:
        raise InvalidInput("the demand could not be registered; retry later", field="external_id")
    _check_same(existing, fingerprint)
    return _finish(session, existing, False, before_commit)


def _finish(session: Session, order: WorkOrder, created: bool,
            before_commit: Callable[[WorkOrder, bool], None] | None) -> tuple[WorkOrder, bool]:
    if before_commit is not None:
        session.flush()
        before_commit(order, created)
    session.commit()
    return order, created


def _check_same(order: WorkOrder, fingerprint: str) -> None:
    if order.payload_hash != fingerprint:
        raise PayloadConflict(
            f"external_id {order.external_id} was already registered as {order.number} "
            "with a different payload", field="external_id")


def link_orders_to_customers(session: Session, limit: int = 5000) -> int:
    """Match orders registered with a customer number the archive did not know yet (an
    intake may come before the marketing-system sync); return how many were linked.  For
    the sync job to call after an import."""
    from app.models.customer import Customer

    rows = session.execute(
        select(WorkOrder, Customer).join(Customer, Customer.customer_no == WorkOrder.customer_no)
        .where(WorkOrder.customer_id.is_(None), WorkOrder.customer_no.is_not(None))
        .order_by(WorkOrder.id).limit(limit)).all()
    for order, customer in rows:
        order.customer_id = customer.id
        if order.grid_id is None:
            grid = customer.grid
            order.grid_id = grid.id
            order.team_id = order.team_id or grid.team_id
            order.station_id = grid.station_id
    session.flush()
    return len(rows)
