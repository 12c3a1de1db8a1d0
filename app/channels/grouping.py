"""Parent and child orders: several outage reports from customers of one transformer area
inside the window (an hour by default) are grouped under one parent order.  Resolving
(verifying, evaluating) the parent does the same to every open child through the workflow
service, so each child's source platform gets its own feedback."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.channels.duplicates import creating_parent
from app.channels.settings import settings
from app.models.customer import Customer
from app.models.org import Grid, Transformer
from app.models.workorder import OPEN_STATES, Channel, OrderState, Priority, WorkOrder
from app.workflow import locks, service
from app.workflow.actor import SYSTEM, Actor

S = OrderState


def is_outage(order: WorkOrder) -> bool:
    text = (order.content or "").lower()
    return any(keyword.lower() in text for keyword in settings.outage_keywords)


def _transformer_of(order: WorkOrder) -> Transformer | None:
    customer = order.customer
    if customer is None or customer.transformer_id is None:
        return None
    return customer.transformer


def group_outage(session: Session, order: WorkOrder, action: str, actor: Actor,
                 params: dict[str, Any]) -> None:
    """Workflow hook on "register": attach an outage report to its area's group."""
    if action != "register" or creating_parent.get() or order.channel == Channel.TASK.value:
        return
    if order.parent_id is not None or not is_outage(order):
        return
    transformer = _transformer_of(order)
    if transformer is None:
        return
    # One registration of the area at a time decides on its group (after the repeat locks).
    locks.hold(session, f"outage:transformer:{transformer.id}")
    since = order.received_at - dt.timedelta(minutes=settings.outage_window_minutes)
    siblings = [
        o for o in session.scalars(
            select(WorkOrder).join(Customer, Customer.id == WorkOrder.customer_id)
            .where(Customer.transformer_id == transformer.id, WorkOrder.id != order.id,
                   WorkOrder.received_at >= since, WorkOrder.state.in_(OPEN_STATES),
                   WorkOrder.channel != Channel.TASK.value)
            .order_by(WorkOrder.id)
            # A locking read sees the latest committed reports even under MariaDB's
            # REPEATABLE READ (registrations are serialised by the number counter there, by
            # the area's lock on PostgreSQL).
            .with_for_update(read=True, of=WorkOrder)
            .execution_options(populate_existing=True))
        if is_outage(o)
    ]
    parent_ids = {s.parent_id for s in siblings if s.parent_id is not None}
    parent = session.scalar(
        select(WorkOrder).where(WorkOrder.id.in_(parent_ids), WorkOrder.state.in_(OPEN_STATES))
        .order_by(WorkOrder.id).limit(1).with_for_update(read=True)
        .execution_options(populate_existing=True)) if parent_ids else None
    if parent is None:
        if len(siblings) + 1 < settings.outage_min_reports:
            return
        parent = _create_parent(session, actor, order, transformer, siblings)
    for child in [*siblings, order]:
        if child.parent_id is None:
            child.parent_id = parent.id
            service._event(session, child, SYSTEM, "group", child.state, child.state,
                           f"→ {parent.number}", order.registered_at, {"parent": parent.number})
    session.flush()


def _create_parent(session: Session, actor: Actor, order: WorkOrder, transformer: Transformer,
                   siblings: list[WorkOrder]) -> WorkOrder:
    first = siblings[0] if siblings else order
    grid = session.get(Grid, transformer.grid_id)
    token = creating_parent.set(True)
    try:
        parent = service.register_order(
            session, SYSTEM, channel=first.channel, demand_type=first.demand_type,
            content=f"台区停电汇总 / outage of transformer area {transformer.code} {transformer.name}",
            address=grid.name if grid else None, grid_id=transformer.grid_id,
            priority=Priority.HIGH.value, received_at=first.received_at, now=order.registered_at,
        )
    finally:
        creating_parent.reset(token)
    return parent


# --- the cascade ----------------------------------------------------------------------------
_CASCADE = {"resolve", "verify", "evaluate"}


def cascade_resolution(session: Session, order: WorkOrder, action: str, actor: Actor,
                       params: dict[str, Any]) -> None:
    """Workflow hook: the parent's resolve / verify / evaluate carried to its open children."""
    if action not in _CASCADE:
        return
    children = list(session.scalars(select(WorkOrder).where(WorkOrder.parent_id == order.id)
                                    .order_by(WorkOrder.id)))
    for child in children:
        if action == "resolve":
            _resolve_child(session, order, child)
        elif action == "verify" and child.state == S.RESOLVED.value:
            service.perform(session, SYSTEM, child.id, "verify",
                            {"note": f"随主单 {order.number} 核实"})
        elif action == "evaluate" and child.state == S.VERIFIED.value:
            service.perform(session, SYSTEM, child.id, "evaluate",
                            {"score": order.score, "comment": order.evaluation_comment})


def _resolve_child(session: Session, parent: WorkOrder, child: WorkOrder) -> None:
    if child.state not in OPEN_STATES:
        return
    if child.suspended:
        service.perform(session, SYSTEM, child.id, "resume", {"note": f"随主单 {parent.number}"})
    if child.state == S.REGISTERED.value:
        assignee = parent.assignee_id or (child.grid.district_manager_id if child.grid else None)
        service.perform(session, SYSTEM, child.id, "dispatch",
                        {"assignee": assignee, "note": f"随主单 {parent.number}"})
    if child.state == S.DISPATCHED.value:
        service.perform(session, SYSTEM, child.id, "accept", {"note": f"随主单 {parent.number}"})
    service.perform(session, SYSTEM, child.id, "resolve",
                    {"resolution": f"{parent.resolution}（随主单 {parent.number} 办结）"})
