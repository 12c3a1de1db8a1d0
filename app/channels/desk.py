"""The registration desk (受理台): finding the customer a caller or a walk-in speaks of, and
the defaults of the operator's next registration.

A phone number is matched on its look-up keys (``app.models.customer.phone_keys``): the full
number or its last eight digits, by equality only, so a role that sees numbers masked finds
the customer it was told about without ever learning a digit it did not type."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.models.customer import PHONE_TAIL_DIGITS, Customer, phone_keys
from app.models.workorder import Channel, WorkOrder
from app.security.masking import masked
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput

LOOKUP_LIMIT = 10
# The channels a desk registers on when the operator has no registration of their own yet.
DESK_DEFAULT_CHANNEL = Channel.PHONE.value
_PHONE_LIKE = re.compile(r"^\+?[\d\s-]+$")


@dataclass(frozen=True)
class DeskMatch:
    id: int
    customer_no: str
    name: str
    phone: str | None
    address: str | None
    grid_id: int
    grid: str
    matched: str


def lookup(session: Session, actor: Actor, q: str, limit: int = LOOKUP_LIMIT) -> list[DeskMatch]:
    """Customers in the actor's scope matching ``q``: by 户号 (prefix), name or address (part)
    and by phone (the full number or its last eight digits); phones masked for the viewer."""
    q = (q or "").strip()
    if len(q) < 2:
        raise InvalidInput("type at least two characters: a customer number, name, address or phone", field="q")
    if len(q) > 64:
        raise InvalidInput("q is longer than 64 characters", field="q")
    terms = []
    digits = re.sub(r"\D", "", q) if _PHONE_LIKE.match(q) else ""
    keys = phone_keys(digits) if len(digits) >= PHONE_TAIL_DIGITS else {}
    if keys.get("phone_key"):
        terms.append(Customer.phone_key == keys["phone_key"])
    if len(digits) == PHONE_TAIL_DIGITS and keys.get("phone_tail_key"):
        terms.append(Customer.phone_tail_key == keys["phone_tail_key"])
    if digits:
        terms.append(Customer.customer_no.startswith(digits, autoescape=True))
    else:
        terms += [Customer.name.contains(q, autoescape=True), Customer.address.contains(q, autoescape=True)]
    query = (select(Customer).where(actor.grid_clause(Customer.grid_id), or_(*terms))
             .order_by(Customer.customer_no).limit(limit).options(selectinload(Customer.grid)))
    found = []
    for customer in session.scalars(query):
        found.append(DeskMatch(
            id=customer.id, customer_no=customer.customer_no, name=customer.name,
            phone=masked("phone", customer.phone, actor.sees_personal_data),
            address=customer.address, grid_id=customer.grid_id,
            grid=f"{customer.grid.code} {customer.grid.name}",
            matched=_matched(customer, q, digits, keys),
        ))
    return found


def _matched(customer: Customer, q: str, digits: str, keys: dict[str, str | None]) -> str:
    if digits and customer.customer_no.startswith(digits):
        return "customer_no"
    if keys and (customer.phone_key == keys.get("phone_key") or customer.phone_tail_key == keys.get("phone_tail_key")):
        return "phone"
    return "name" if q in customer.name else "address"


def last_channel(session: Session, actor: Actor, offered: list[str]) -> str:
    """The channel of the operator's last registration (a phone desk keeps taking calls), else
    the phone: the first default of a desk."""
    if actor.user_id is not None:
        channel = session.scalar(select(WorkOrder.channel).where(WorkOrder.created_by_id == actor.user_id)
                                 .order_by(WorkOrder.id.desc()).limit(1))
        if channel in offered:
            return channel
    return DESK_DEFAULT_CHANNEL if DESK_DEFAULT_CHANNEL in offered else offered[0]
