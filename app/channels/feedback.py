"""Feedback to the source platform: every result of an externally posted order (resolved,
verified, evaluated, sent back) goes to an outbox; the feedback endpoint reads it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.channel import FeedbackOutbox
from app.models.workorder import WorkOrder
from app.workflow.actor import Actor

FEEDBACK_ACTIONS = frozenset({"resolve", "reject", "verify", "evaluate", "reopen", "callback"})


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def result_of(order: WorkOrder) -> dict[str, Any]:
    evaluation = None
    if order.score is not None or order.evaluated_at is not None:
        evaluation = {"score": order.score, "comment": order.evaluation_comment,
                      "evaluated_at": _iso(order.evaluated_at)}
    return {
        "id": order.id,
        "number": order.number,
        "external_id": order.external_id,
        "state": order.state,
        "resolution": order.resolution,
        "resolved_at": _iso(order.resolved_at),
        "timely": order.timely,
        "evaluation": evaluation,
    }


def record_feedback(session: Session, order: WorkOrder, action: str, actor: Actor,
                    params: dict[str, Any]) -> None:
    """Workflow hook: keep each result of a platform's order in the outbox."""
    if action not in FEEDBACK_ACTIONS or not order.external_id:
        return
    session.add(FeedbackOutbox(order_id=order.id, channel=order.channel,
                               external_id=order.external_id, action=action, state=order.state,
                               payload=result_of(order), created_at=utcnow()))


def feedback_since(session: Session, channel: str, since: dt.datetime | None,
                   limit: int = 500) -> tuple[list[dict[str, Any]], dt.datetime | None]:
    """The channel's orders with a result recorded after ``since`` (current state each),
    and the time of the newest entry read (the next ``since``)."""
    query = select(FeedbackOutbox).where(FeedbackOutbox.channel == channel)
    if since is not None:
        query = query.where(FeedbackOutbox.created_at > since)
    entries = list(session.scalars(query.order_by(FeedbackOutbox.created_at, FeedbackOutbox.id)
                                   .limit(limit)))
    seen: dict[int, dict[str, Any]] = {}
    for entry in entries:
        order = session.get(WorkOrder, entry.order_id)
        if order is None or order.channel != channel:
            continue
        body = result_of(order)
        body["changed_at"] = _iso(entry.created_at)
        seen[order.id] = body
    until = entries[-1].created_at if entries else since
    return list(seen.values()), until
