"""Deadlines that depend on the statutory calendar's data: marking them provisional, and
recomputing them once the year they need is entered.

Every clock of the order is recomputed from what decided it (``clocks.recompute_clocks``: the
received time, the allowances, suspensions, approved extensions, the source deadline), so the
recomputed deadlines are the ones the order would have had if the year had been known from
the start.  The flag follows the order's deadline (the completion clock) and is kept by one
listener on every flush (``install``), whichever path set the deadline (workflow, tasks,
imports).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models.workorder import WorkOrder, WorkOrderEvent
from app.workflow import calendar, clocks

BATCH = 500


def mark_provisional(order: WorkOrder) -> None:
    order.deadline_provisional = bool(order.received_at and calendar.is_provisional(order.received_at,
                                                                                   order.deadline))


def _before_flush(session: Session, _context: Any, _instances: Any) -> None:
    for order in list(session.new) + list(session.dirty):
        if isinstance(order, WorkOrder) and order.deadline is not None:
            provisional = bool(order.received_at and calendar.is_provisional(order.received_at, order.deadline))
            if provisional != bool(order.deadline_provisional):
                order.deadline_provisional = provisional


def install() -> None:
    """Keep ``deadline_provisional`` right on every session (called once from create_app)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def recompute_provisional(session: Session, now: dt.datetime) -> int:
    """Recompute the provisional deadlines whose years are now complete; a resolved order's
    timely flag follows its new deadline.  Each change leaves a timeline event.  Returns how
    many orders were settled (the caller commits)."""
    settled, after_id = 0, 0
    while True:
        orders = list(session.scalars(select(WorkOrder).where(
            WorkOrder.deadline_provisional.is_(True), WorkOrder.id > after_id).order_by(WorkOrder.id).limit(BATCH)))
        if not orders:
            return settled
        for order in orders:
            after_id = order.id
            if calendar.is_provisional(order.received_at, order.deadline):
                continue  # the year it needs is still missing
            old_deadline = order.deadline
            clocks.recompute_clocks(session, order)
            new_deadline = order.deadline
            order.deadline_provisional = calendar.is_provisional(order.received_at, new_deadline)
            if order.resolved_at is not None:
                order.timely = clocks.order_timely(order)
            if new_deadline is None:
                continue
            session.add(WorkOrderEvent(
                order_id=order.id, action="recompute_deadline", from_state=order.state, to_state=order.state,
                actor_id=None, actor_name="系统", created_at=now,
                note="法定节假日安排已录入，处理时限重新计算",
                data={"old_deadline": old_deadline.isoformat() if old_deadline else None,
                      "new_deadline": new_deadline.isoformat(),
                      "clocks": {c.kind: c.deadline.isoformat() for c in order.clocks if c.deadline}}))
            settled += 1
        session.flush()


def recompute_provisional_job(session: Session, now: dt.datetime) -> dict[str, int]:
    """Scheduled (``calendar_provisional``): settle provisional deadlines whose year has been
    completed since — a safety net behind the recomputation done when a year is entered."""
    calendar.invalidate()
    settled = recompute_provisional(session, now)
    session.commit()
    return {"recomputed": settled}
