"""Duplicate detection across channels: a new demand from the same phone or customer with
similar content inside the window (72 h by default) is flagged and linked to the earlier
order; a team leader then merges it (it becomes a child of the earlier order, whose
resolution then closes it too, both timelines kept) or keeps it separate."""

from __future__ import annotations

import contextvars
import datetime as dt
import difflib
import functools
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, bindparam, or_, select
from sqlalchemy.orm import Session

from app.channels.settings import settings
from app.models.base import utcnow
from app.models.channel import DuplicateReview, DuplicateStatus
from app.models.workorder import Channel, WorkOrder, WorkOrderEvent
from app.workflow import locks, service
from app.workflow.actor import LEADERS, Actor
from app.workflow.errors import Forbidden, IllegalTransition, NotFound, OutOfScope

# Set while the grouping service creates a parent order: a synthetic order is no repeat.
creating_parent: contextvars.ContextVar[bool] = contextvars.ContextVar("creating_parent", default=False)


def similarity(a: str, b: str) -> float:
    a, b = " ".join(a.split()), " ".join(b.split())
    if not a or not b:
        return 0.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def find_earlier(session: Session, order: WorkOrder) -> tuple[WorkOrder, float, str] | None:
    names = []
    if order.phone:
        names.append(f"repeat:phone:{order.phone}")
    if order.customer_id:
        names.append(f"repeat:customer:{order.customer_id}")
    if not names:
        return None
    # A repeat registered at this moment in another transaction is seen once it commits.
    locks.hold(session, *names)
    since = order.received_at - dt.timedelta(hours=settings.duplicate_window_hours)
    candidates = session.execute(_candidates(bool(order.phone), bool(order.customer_id)), {
        "phone": order.phone, "customer_id": order.customer_id, "order_id": order.id,
        "since": since, "until": order.received_at + dt.timedelta(minutes=5),
    }).all()
    best: tuple[Any, float, str] | None = None
    for candidate in candidates:
        score = similarity(order.content, candidate.content)
        if score < settings.duplicate_similarity:
            continue
        matched = "phone" if order.phone and candidate.phone == order.phone else "customer"
        if best is None or score > best[1]:
            best = (candidate, score, matched)
    if best is None:
        return None
    candidate, score, matched = best
    # Link to the original, not to another repeat of it.  Loaded with a locking read like the
    # candidates: on MariaDB (REPEATABLE READ) a plain read answers from this transaction's
    # first snapshot, which may not hold an order committed since.
    target = _locked(session, candidate.duplicate_of_id) if candidate.duplicate_of_id else None
    target = target or _locked(session, candidate.id)
    return (target, score, matched) if target is not None else None


def _locked(session: Session, order_id: int) -> WorkOrder | None:
    return session.get(WorkOrder, order_id, with_for_update={"read": True})


@functools.cache
def _candidates(by_phone: bool, by_customer: bool) -> Select:
    """The earlier orders of the phone and/or the customer: the four columns the comparison
    needs, not the candidates' whole rows (one statement built per kind, then reused)."""
    conditions = []
    if by_phone:
        conditions.append(WorkOrder.phone == bindparam("phone"))
    if by_customer:
        conditions.append(WorkOrder.customer_id == bindparam("customer_id"))
    return (
        select(WorkOrder.id, WorkOrder.content, WorkOrder.phone, WorkOrder.duplicate_of_id).where(
            or_(*conditions), WorkOrder.id != bindparam("order_id"),
            WorkOrder.received_at >= bindparam("since"), WorkOrder.received_at <= bindparam("until"),
            WorkOrder.channel != Channel.TASK.value,
        ).order_by(WorkOrder.id).limit(50)
        # a locking read: see repeats committed a moment ago even under REPEATABLE READ
        .with_for_update(read=True)
    )


def flag_duplicate(session: Session, order: WorkOrder, action: str, actor: Actor,
                   params: dict[str, Any]) -> None:
    """Workflow hook on "register"."""
    if action != "register" or creating_parent.get() or order.channel == Channel.TASK.value:
        return
    found = find_earlier(session, order)
    if found is None:
        return
    earlier, score, matched = found
    order.duplicate_of_id = earlier.id
    session.add(DuplicateReview(
        order_id=order.id, duplicate_of_id=earlier.id, similarity=Decimal(f"{score:.3f}"),
        matched_on=matched, status=DuplicateStatus.PENDING.value, station_id=order.station_id,
        team_id=order.team_id, grid_id=order.grid_id, created_at=utcnow(),
    ))
    service._event(session, order, actor, "flag_duplicate", order.state, order.state,
                   f"≈ {earlier.number} ({score:.0%}, {matched})", utcnow(),
                   {"duplicate_of": earlier.number, "similarity": round(score, 3)})


def decide(session: Session, actor: Actor, review_id: int, merge: bool,
           now: dt.datetime | None = None) -> DuplicateReview:
    """The team leader's decision on a flagged order: merge it into the earlier one or keep it."""
    now = now or utcnow()
    review = session.get(DuplicateReview, review_id)
    if review is None:
        raise NotFound(f"duplicate review {review_id} not found")
    if not actor.has_any(LEADERS):
        raise Forbidden("only team leaders and station managers decide on duplicates")
    order = session.get(WorkOrder, review.order_id)
    original = session.get(WorkOrder, review.duplicate_of_id)
    assert order is not None and original is not None
    if not (actor.can_see_order(order) and actor.can_see_order(original)):
        raise OutOfScope("this order is outside your scope")
    if review.status != DuplicateStatus.PENDING.value:
        raise IllegalTransition(f"already decided: {DuplicateStatus.label_of(review.status)}")
    review.decided_by_id = actor.user_id
    review.decided_at = now
    if merge:
        if order.children:
            raise IllegalTransition("an order with children of its own cannot be merged")
        review.status = DuplicateStatus.MERGED.value
        order.parent_id = original.id
        service._event(session, order, actor, "merge", order.state, order.state,
                       f"→ {original.number}", now, {"merged_into": original.number})
        service._event(session, original, actor, "merge", original.state, original.state,
                       f"← {order.number}", now, {"merged": order.number})
    else:
        review.status = DuplicateStatus.KEPT.value
        order.duplicate_of_id = None
        service._event(session, order, actor, "keep", order.state, order.state,
                       f"≠ {original.number}", now, {"kept_apart_from": original.number})
    session.flush()
    return review


def merged_timeline(session: Session, order: WorkOrder) -> list[WorkOrderEvent]:
    """The order's timeline with those of the orders merged into it, in time order."""
    merged_ids = list(session.scalars(
        select(DuplicateReview.order_id).where(
            DuplicateReview.duplicate_of_id == order.id,
            DuplicateReview.status == DuplicateStatus.MERGED.value)))
    return list(session.scalars(
        select(WorkOrderEvent).where(WorkOrderEvent.order_id.in_([order.id, *merged_ids]))
        .order_by(WorkOrderEvent.created_at, WorkOrderEvent.id)))
