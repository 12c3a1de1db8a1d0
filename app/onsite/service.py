"""Customer visits and on-site records: plain functions on a session, raising domain errors;
the caller commits.  Corrections made on site keep the old value in ``CustomerChange``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from app.documents.store import DocumentStore, Upload, documents_of
from app.models.base import utcnow
from app.models.customer import Bill, Customer, CustomerTag, EnergyIntention
from app.models.document import OwnerType
from app.models.onsite import CustomerChange, EquipmentRecord, SafetyRecord, ServiceRecord, Visit
from app.models.org import Grid, Transformer
from app.models.workorder import OPEN_STATES, WorkOrder
from app.security.masking import masked
from app.workflow.actor import Actor
from app.workflow.errors import Forbidden, InvalidInput, NotFound, OutOfScope, checked_id

PHONE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8}|\d{7,8})$")
SEARCH_LIMIT = 50


def load_customer(session: Session, actor: Actor, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("no such customer")
    if not actor.can_see_grid(customer.grid_id, customer.grid.station_id):
        raise OutOfScope("the customer is outside your scope")
    return customer


def search_customers(session: Session, actor: Actor, q: str = "", phone: str | None = None,
                     limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers in scope matching number, name or address — and phone only for viewers who
    may see phones in full: a masked field is never a search key."""
    query = select(Customer).where(actor.grid_clause(Customer.grid_id))
    if phone:
        if not actor.sees_personal_data:
            raise Forbidden("you may not search by phone")
        query = query.where(Customer.phone == phone.strip())
    q = (q or "").strip()
    if q:
        # autoescape: a typed % or _ is a character, not a wildcard
        terms = [Customer.customer_no.startswith(q, autoescape=True), Customer.name.contains(q, autoescape=True),
                 Customer.address.contains(q, autoescape=True)]
        if actor.sees_personal_data:
            terms.append(Customer.phone.startswith(q, autoescape=True))
        query = query.where(or_(*terms))
    elif not phone:
        raise InvalidInput("give a customer number, name, address or phone to search for", field="q")
    return list(session.scalars(query.order_by(Customer.customer_no).limit(limit)
                                .options(selectinload(Customer.grid))))


def customer_picture(session: Session, actor: Actor, customer_id: int) -> dict[str, Any]:
    """Everything about one customer on one page, masked for the viewer."""
    customer = load_customer(session, actor, customer_id)
    sees = actor.sees_personal_data
    bills = list(session.scalars(select(Bill).where(Bill.customer_id == customer.id)
                                 .order_by(Bill.period.desc()).limit(12)))
    orders = list(session.scalars(
        select(WorkOrder).where(or_(WorkOrder.customer_id == customer.id,
                                    WorkOrder.customer_no == customer.customer_no))
        .order_by(WorkOrder.id.desc()).limit(100)))
    visits = list(session.scalars(select(Visit).where(Visit.customer_id == customer.id)
                                  .order_by(Visit.visited_at.desc(), Visit.id.desc())))
    photos = documents_of(session, OwnerType.VISIT.value, [v.id for v in visits])
    changes = list(session.scalars(select(CustomerChange).where(CustomerChange.customer_id == customer.id)
                                   .order_by(CustomerChange.id.desc())))

    def _mask(field: str, value: str | None) -> str | None:
        return masked(field, value, sees) if field in ("phone", "id_number") else value

    return {
        "customer": {
            "id": customer.id, "customer_no": customer.customer_no, "name": customer.name,
            "customer_type": customer.customer_type, "phone": _mask("phone", customer.phone),
            "id_number": _mask("id_number", customer.id_number), "address": customer.address,
            "grid": customer.grid.code, "grid_id": customer.grid_id,
            "transformer": customer.transformer.code if customer.transformer else None,
            "meter_no": customer.meter_no,
            "contract_capacity_kva": _num(customer.contract_capacity_kva), "tariff": customer.tariff,
        },
        "tags": [{"code": t.code, "name": t.name} for t in customer.tags],
        "intentions": [{"code": i.code, "name": i.name} for i in customer.intentions],
        "bills": [{"period": b.period, "total_kwh": _num(b.total_kwh), "sharp_kwh": _num(b.sharp_kwh),
                   "peak_kwh": _num(b.peak_kwh), "flat_kwh": _num(b.flat_kwh),
                   "valley_kwh": _num(b.valley_kwh), "amount_yuan": _num(b.amount_yuan)} for b in bills],
        "open_orders": [_order(o) for o in orders if o.state in OPEN_STATES],
        "past_orders": [_order(o) for o in orders if o.state not in OPEN_STATES],
        "visits": [{
            "id": v.id, "visited_at": v.visited_at.isoformat(), "staff": v.staff_name,
            "address_confirmed": v.address_confirmed, "contact_confirmed": v.contact_confirmed,
            "note": v.note,
            "photos": [{"id": d.id, "kind": d.kind, "content_type": d.content_type,
                        "name": d.original_name, "has_thumbnail": d.has_thumbnail}
                       for d in photos.get(v.id, [])],
        } for v in visits],
        "history": [{"field": c.field, "old": _mask(c.field, c.old_value), "new": _mask(c.field, c.new_value),
                     "by": c.changed_by_name, "at": c.changed_at.isoformat(), "visit_id": c.visit_id}
                    for c in changes],
    }


def _num(value: Any) -> float | None:
    return float(value) if value is not None else None


def _order(order: WorkOrder) -> dict[str, Any]:
    return {"id": order.id, "number": order.number, "channel": order.channel,
            "demand_type": order.demand_type, "state": order.state,
            "registered_at": order.registered_at.isoformat() if order.registered_at else None}


def register_visit(session: Session, actor: Actor, customer_id: int, *, store: DocumentStore,
                   phone: str | None = None, address: str | None = None,
                   contact_confirmed: bool = False, address_confirmed: bool = False,
                   tag_codes: list[str] | None = None, intention_codes: list[str] | None = None,
                   note: str | None = None, photos: list[Upload] | None = None,
                   now: dt.datetime | None = None) -> Visit:
    """Record a visit; corrected phone/address replace the archive's, the old kept in history.
    ``photos`` must already be checked by ``store.check`` (so a bad file refuses the visit
    before anything is written)."""
    now = now or utcnow()
    customer = load_customer(session, actor, customer_id)
    if phone is not None:
        phone = phone.strip()
        if not PHONE.match(phone):
            raise InvalidInput(f"not a phone number: {phone}", field="phone")
    if address is not None:
        address = address.strip()
        if not address or len(address) > 255:
            raise InvalidInput("the address must be 1 to 255 characters", field="address")
    tags = _by_codes(session, CustomerTag, tag_codes, "tags")
    intentions = _by_codes(session, EnergyIntention, intention_codes, "intentions")

    visit = Visit(customer_id=customer.id, grid_id=customer.grid_id, station_id=customer.grid.station_id,
                  staff_id=actor.staff_id, staff_name=actor.display_name, visited_at=now,
                  address_confirmed=address_confirmed or address is not None,
                  contact_confirmed=contact_confirmed or phone is not None, note=(note or "").strip() or None)
    session.add(visit)
    session.flush()
    for field, value in (("phone", phone), ("address", address)):
        old = getattr(customer, field)
        if value is not None and value != old:
            session.add(CustomerChange(customer_id=customer.id, visit_id=visit.id, field=field,
                                       old_value=old, new_value=value,
                                       changed_by_name=actor.display_name, changed_at=now))
            setattr(customer, field, value)
    for tag in tags:
        if tag not in customer.tags:
            customer.tags.append(tag)
    for intention in intentions:
        if intention not in customer.intentions:
            customer.intentions.append(intention)
    if photos:
        store.attach(session, actor, photos, owner_type=OwnerType.VISIT.value, owner_id=visit.id,
                     grid_id=visit.grid_id, station_id=visit.station_id)
    session.flush()
    score_work(session, actor, "visit", visit.id, now, photos, f"走访 {customer.customer_no}")
    return visit


def score_work(session: Session, actor: Actor, source_type: str, source_id: int, at: dt.datetime,
               photos: list[Upload] | None = None, label: str | None = None) -> None:
    """Book the work points of a visit or an on-site record for whoever recorded it, through
    the active scoring rules (``app/rules/scoring.py``)."""
    from app.rules.scoring import ScoringFacts, score_record

    if actor.staff_id is None:
        return
    score_record(session, source_type=source_type, source_id=source_id, staff_id=actor.staff_id,
                 facts=ScoringFacts(photo_count=len(photos or [])), label=label, at=at)


def _by_codes(session: Session, model: Any, codes: list[str] | None, field: str) -> list[Any]:
    codes = [c for c in (codes or []) if c]
    if not codes:
        return []
    found = list(session.scalars(select(model).where(model.code.in_(codes))))
    missing = set(codes) - {f.code for f in found}
    if missing:
        raise InvalidInput(f"unknown {field}: {', '.join(sorted(missing))}", field=field)
    return found


# --- on-site records ---------------------------------------------------------------------
def _grid_in_scope(session: Session, actor: Actor, grid_id: Any) -> Grid:
    try:
        grid = session.get(Grid, checked_id(grid_id, "grid_id"))
    except InvalidInput:
        grid = None
    if grid is None:
        raise InvalidInput("a known grid is required", field="grid_id")
    if not actor.can_see_grid(grid.id, grid.station_id):
        raise OutOfScope("the grid is outside your scope")
    return grid


def _required(value: Any, field: str, length: int = 255) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value)
    if not text:
        raise InvalidInput(f"{field} is required", field=field)
    if len(text) > length:
        raise InvalidInput(f"{field} is longer than {length} characters", field=field)
    return text


def record_service(session: Session, actor: Actor, *, content: str, customer_id: int | None = None,
                   order_id: int | None = None, grid_id: int | None = None,
                   photos: list[Upload] | None = None, store: DocumentStore | None = None,
                   now: dt.datetime | None = None) -> ServiceRecord:
    customer = load_customer(session, actor, checked_id(customer_id, "customer_id")) if customer_id else None
    order = None
    if order_id:
        order = session.get(WorkOrder, checked_id(order_id, "order_id"))
        if order is None:
            raise NotFound("no such work order")
        if not actor.can_see_order(order):
            raise OutOfScope("the work order is outside your scope")
    grid_ref = grid_id or (customer.grid_id if customer else None) or (order.grid_id if order else None)
    grid = _grid_in_scope(session, actor, grid_ref)
    record = ServiceRecord(grid_id=grid.id, station_id=grid.station_id,
                           customer_id=customer.id if customer else None,
                           order_id=order.id if order else None,
                           content=_required(content, "content", 4000), staff_name=actor.display_name,
                           performed_at=now or utcnow())
    session.add(record)
    session.flush()
    _attach(session, actor, store, photos, OwnerType.SERVICE_RECORD.value, record)
    score_work(session, actor, "service_record", record.id, record.performed_at, photos, "现场服务记录")
    return record


def record_safety(session: Session, actor: Actor, *, grid_id: int, site: str, hazards: str,
                  rectification_required: str | None = None, deadline: dt.date | None = None,
                  photos: list[Upload] | None = None, store: DocumentStore | None = None,
                  now: dt.datetime | None = None) -> SafetyRecord:
    grid = _grid_in_scope(session, actor, grid_id)
    record = SafetyRecord(grid_id=grid.id, station_id=grid.station_id, site=_required(site, "site"),
                          hazards=_required(hazards, "hazards", 4000),
                          rectification_required=(rectification_required or "").strip() or None,
                          deadline=deadline, staff_name=actor.display_name, recorded_at=now or utcnow())
    session.add(record)
    session.flush()
    _attach(session, actor, store, photos, OwnerType.SAFETY_RECORD.value, record)
    score_work(session, actor, "safety_record", record.id, record.recorded_at, photos, f"安全监督 {record.site}")
    return record


def close_safety(session: Session, actor: Actor, record_id: int, note: str | None = None,
                 now: dt.datetime | None = None) -> SafetyRecord:
    record = session.get(SafetyRecord, record_id)
    if record is None:
        raise NotFound("no such safety record")
    if not actor.can_see_grid(record.grid_id, record.station_id):
        raise OutOfScope("the record is outside your scope")
    if record.closed:
        raise InvalidInput("the safety record is already closed")
    record.closed, record.closed_at = True, now or utcnow()
    record.closed_by_name, record.closing_note = actor.display_name, (note or "").strip() or None
    session.flush()
    return record


def record_equipment(session: Session, actor: Actor, *, equipment_type: str, location: str,
                     grid_id: int | None = None, model: str | None = None, serial_no: str | None = None,
                     transformer_id: int | None = None, meter_box_no: str | None = None,
                     photos: list[Upload] | None = None, store: DocumentStore | None = None,
                     now: dt.datetime | None = None) -> EquipmentRecord:
    transformer = None
    if transformer_id:
        transformer = session.get(Transformer, checked_id(transformer_id, "transformer_id"))
        if transformer is None:
            raise InvalidInput("unknown transformer", field="transformer_id")
    grid = _grid_in_scope(session, actor, grid_id or (transformer.grid_id if transformer else None))
    if transformer is not None and transformer.grid_id != grid.id:
        raise InvalidInput("the transformer is not in that grid", field="transformer_id")
    record = EquipmentRecord(grid_id=grid.id, station_id=grid.station_id,
                             equipment_type=_required(equipment_type, "equipment_type", 64),
                             model=(model or "").strip() or None, serial_no=(serial_no or "").strip() or None,
                             location=_required(location, "location"),
                             transformer_id=transformer.id if transformer else None,
                             meter_box_no=(meter_box_no or "").strip() or None,
                             staff_name=actor.display_name, recorded_at=now or utcnow())
    session.add(record)
    session.flush()
    _attach(session, actor, store, photos, OwnerType.EQUIPMENT.value, record)
    score_work(session, actor, "equipment_record", record.id, record.recorded_at, photos,
               f"设备采集 {record.equipment_type}")
    return record


def _attach(session: Session, actor: Actor, store: DocumentStore | None, photos: list[Upload] | None,
            owner_type: str, record: Any) -> None:
    if photos:
        assert store is not None
        store.attach(session, actor, photos, owner_type=owner_type, owner_id=record.id,
                     grid_id=record.grid_id, station_id=record.station_id)


OWNER_MODELS = {
    OwnerType.VISIT.value: Visit,
    OwnerType.SERVICE_RECORD.value: ServiceRecord,
    OwnerType.SAFETY_RECORD.value: SafetyRecord,
    OwnerType.EQUIPMENT.value: EquipmentRecord,
}


def load_owner(session: Session, actor: Actor, owner_type: str, owner_id: int) -> Any:
    """The record a document is to be attached to, in the actor's scope."""
    from app.models.onsite import MeterBoxAnomaly

    models: dict[str, Any] = {**OWNER_MODELS, OwnerType.ANOMALY.value: MeterBoxAnomaly}
    model = models.get(owner_type)
    if model is None:
        raise InvalidInput(f"unknown owner type: {owner_type}", field="owner_type")
    record = session.get(model, owner_id)
    if record is None:
        raise NotFound("no such record")
    if not actor.can_see_grid(record.grid_id, record.station_id):
        raise OutOfScope("the record is outside your scope")
    return record
