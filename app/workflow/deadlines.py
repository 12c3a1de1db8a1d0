"""Deadlines that depend on the statutory calendar's data: marking them provisional, and
recomputing them once the year they need is entered.

An order's deadline is replayed from what decided it — the received time and the allowed
working days or hours, then each suspension (the working time it paused) and each approved
extension in the order they happened — so the recomputed deadline is the one the order would
have had if the year had been known from the start.  The flag is kept by one listener on every
flush (``install``), whichever path set the deadline (workflow, tasks, imports).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.models.workorder import ExtensionRequest, ExtensionStatus, Suspension, WorkOrder, WorkOrderEvent
from app.workflow import calendar

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


def replay_deadline(session: Session, order: WorkOrder) -> dt.datetime | None:
    """The order's deadline recomputed with the calendar as it is now."""
    if order.deadline is None:
        return None
    if order.deadline_hours:
        deadline = calendar.add_working_hours(order.received_at, order.deadline_hours)
    elif order.deadline_working_days:
        deadline = calendar.add_working_days(order.received_at, order.deadline_working_days)
    else:
        return order.deadline  # set by hand or by a rule with no allowance on record: keep it
    steps: list[tuple[dt.datetime, str, Any]] = []
    for suspension in session.scalars(select(Suspension).where(
            Suspension.order_id == order.id, Suspension.ended_at.is_not(None))):
        steps.append((suspension.ended_at, "suspension", suspension))
    for extension in session.scalars(select(ExtensionRequest).where(
            ExtensionRequest.order_id == order.id, ExtensionRequest.status == ExtensionStatus.APPROVED.value)):
        steps.append((extension.decided_at or extension.requested_at, "extension", extension))
    for _, kind, step in sorted(steps, key=lambda item: (item[0], item[1])):
        if kind == "suspension":
            deadline = calendar.add_working_time(deadline, calendar.working_time_between(step.started_at,
                                                                                        step.ended_at))
        else:
            deadline = calendar.add_working_days(deadline, step.approved_days or step.requested_days)
    if order.source_deadline is not None and order.source_deadline < deadline:
        deadline = order.source_deadline  # never later than the source platform's deadline
    return deadline


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
            new_deadline = replay_deadline(session, order)
            if new_deadline is None or calendar.is_provisional(order.received_at, new_deadline):
                continue  # the year it needs is still missing
            old_deadline = order.deadline
            order.deadline = new_deadline
            order.deadline_provisional = False
            if order.resolved_at is not None:
                order.timely = order.resolved_at <= new_deadline
            session.add(WorkOrderEvent(
                order_id=order.id, action="recompute_deadline", from_state=order.state, to_state=order.state,
                actor_id=None, actor_name="系统", created_at=now,
                note="法定节假日安排已录入，处理时限重新计算",
                data={"old_deadline": old_deadline.isoformat() if old_deadline else None,
                      "new_deadline": new_deadline.isoformat()}))
            settled += 1
        session.flush()


def recompute_provisional_job(session: Session, now: dt.datetime) -> dict[str, int]:
    """Scheduled (``calendar_provisional``): settle provisional deadlines whose year has been
    completed since — a safety net behind the recomputation done when a year is entered."""
    calendar.invalidate()
    settled = recompute_provisional(session, now)
    session.commit()
    return {"recomputed": settled}
