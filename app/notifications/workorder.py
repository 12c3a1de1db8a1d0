"""Who hears of what happens to a work order (a workflow hook, run in the transition's
transaction): the assignee of dispatch, transfer, urge, supervision, reject, redo, void and
extension decisions; the team leaders of returns and extension requests.  Overdue orders are
told by the SLA sweep (``app/jobs/sla.py``).  Texts are in the station's language."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import LOCAL_TZ
from app.models.base import utcnow
from app.models.org import Position, StaffProfile
from app.models.workorder import OrderState, WorkOrder, WorkOrderEvent
from app.notifications import notify
from app.workflow.actor import Actor

_LEVELS = {"station": "所级", "county": "县级", "city": "市级"}


def _user_of(session: Session, staff_id: int | None) -> int | None:
    if staff_id is None:
        return None
    staff = session.get(StaffProfile, staff_id)
    return staff.user_id if staff is not None else None


def team_leader_users(session: Session, team_id: int | None) -> list[int]:
    if team_id is None:
        return []
    return list(session.scalars(select(StaffProfile.user_id).where(
        StaffProfile.team_id == team_id, StaffProfile.position == Position.TEAM_LEADER.value)))


def _said(params: dict[str, Any], *keys: str) -> str:
    for key in keys:
        value = params.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _message(session: Session, order: WorkOrder, action: str, params: dict[str, Any]) -> list[tuple[list[int | None], str, str]]:
    """(recipients, title, body) of each message the action sends."""
    n = order.number
    assignee = [_user_of(session, order.assignee_id)]
    leaders: list[int | None] = list(team_leader_users(session, order.team_id))
    content = (order.content or "")[:120]
    deadline = order.deadline.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M") if order.deadline else "—"
    reason = _said(params, "reason", "note")
    # "register": the routing rules dispatched the new order at once.
    if action in ("dispatch", "register") and order.state == OrderState.DISPATCHED.value:
        return [(assignee, f"新工单 {n}，请及时接单", f"{content}\n处理时限 {deadline}")]
    if action == "transfer":
        out: list[tuple[list[int | None], str, str]] = [
            (assignee, f"工单 {n} 已转派给您", f"{content}\n转派原因：{reason}\n处理时限 {deadline}")]
        event = session.scalar(select(WorkOrderEvent).where(
            WorkOrderEvent.order_id == order.id, WorkOrderEvent.action == "transfer")
            .order_by(WorkOrderEvent.id.desc()).limit(1))
        before = _user_of(session, (event.data or {}).get("from_id")) if event is not None else None
        if before:
            out.append(([before], f"工单 {n} 已转派他人", f"转派原因：{reason}"))
        return out
    if action == "urge":
        return [(assignee, f"工单 {n} 被催办", reason or content)]
    if action == "supervise":
        level = _LEVELS.get(order.supervision_level, order.supervision_level)
        return [(assignee, f"工单 {n} 被{level}督办", reason or content)]
    if action == "reject":
        return [(assignee, f"工单 {n} 处理结果被驳回，请重新处理", f"驳回原因：{reason}")]
    if action == "callback" and order.state == OrderState.ACCEPTED.value:
        return [(assignee, f"工单 {n} 回访不满意，需重办", content)]
    if action == "reopen" and order.state == OrderState.DISPATCHED.value:
        return [(assignee, f"工单 {n} 已重新打开，需重办", f"原因：{reason}")]
    if action == "approve_extension":
        return [(assignee, f"工单 {n} 延期申请已批准", f"新的处理时限 {deadline}")]
    if action == "refuse_extension":
        return [(assignee, f"工单 {n} 延期申请未获批准", reason or f"处理时限仍为 {deadline}")]
    if action == "void":
        return [(assignee, f"工单 {n} 已作废", f"作废原因：{reason}")]
    if action == "return":
        return [(leaders, f"工单 {n} 被退单，请重新派单", f"退单原因：{reason}")]
    if action == "extend":
        days = params.get("days")
        return [(leaders, f"工单 {n} 申请延期 {days} 个工作日，请审批", f"原因：{reason}")]
    return []


def notify_transition(session: Session, order: WorkOrder, action: str, actor: Actor,
                      params: dict[str, Any]) -> None:
    """The workflow hook: tell the people concerned, never the one who acted."""
    messages = _message(session, order, action, params)
    if not messages:
        return
    # The transition's own moment (a job's tick, a test's "now"), set on the order before the
    # hooks run: a message must not be dated, nor fall due, by the wall clock.
    now = order.updated_at or utcnow()
    for recipients, title, body in messages:
        told = [uid for uid in recipients if uid is not None and uid != actor.user_id]
        notify(session, told, kind=f"order_{action}", title=title, body=body, now=now,
               order_id=order.id, link=f"/workorderview/show/{order.id}")



