"""Internal tasks (channel ``task``): templates set by team leaders and station managers,
one-off or repeating daily, weekly or monthly.  ``generate_due_tasks`` creates each
period's occurrence exactly once; the unique (template, period) row is inserted first in a
savepoint, so a second scheduler racing for the same period finds it taken and moves on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.channel import Recurrence, TaskOccurrence, TaskTemplate
from app.models.workorder import Channel, DemandType, WorkOrder
from app.workflow import calendar, service
from app.workflow.actor import LEADERS, SYSTEM, Actor
from app.workflow.errors import Forbidden, InvalidInput, OutOfScope


def period_key(recurrence: str, now: dt.datetime) -> str:
    local = now.astimezone(calendar.LOCAL_TZ).date()
    if recurrence == Recurrence.DAILY.value:
        return local.isoformat()
    if recurrence == Recurrence.WEEKLY.value:
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if recurrence == Recurrence.MONTHLY.value:
        return f"{local:%Y-%m}"
    return "once"


def check_template(session: Session, actor: Actor, template: TaskTemplate) -> None:
    """Who may set which task: leaders, for people and grids of their own scope."""
    if not actor.has_any(LEADERS):
        raise Forbidden("only team leaders and station managers set tasks")
    try:
        Recurrence(template.recurrence)
    except ValueError:
        raise InvalidInput(f"unknown recurrence: {template.recurrence}", field="recurrence") from None
    if not template.title or not template.title.strip():
        raise InvalidInput("title is required", field="title")
    if template.work_points is not None and Decimal(template.work_points) < 0:
        raise InvalidInput("work points cannot be negative", field="work_points")
    if template.assignee is None and template.team_id is None:
        raise InvalidInput("assign the task to a person or a team", field="assignee")
    if not actor.is_admin:
        assignee = template.assignee
        if assignee is not None and assignee.station_id != actor.station_id:
            raise OutOfScope(f"{assignee.name} is outside your station")
        if actor.scope_level() == "team" and assignee is not None and assignee.team_id != actor.team_id:
            raise OutOfScope(f"{assignee.name} is not in your team")
        if template.grid_id is not None and not actor.can_see_grid(template.grid_id, actor.station_id):
            raise OutOfScope("the grid is outside your scope")


def generate_due_tasks(session: Session, now: dt.datetime | None = None,
                       template_ids: list[int] | None = None) -> list[WorkOrder]:
    """Create this period's order of every active template that has none yet."""
    now = now or utcnow()
    query = select(TaskTemplate).where(TaskTemplate.active.is_(True))
    if template_ids is not None:
        query = query.where(TaskTemplate.id.in_(template_ids))
    created: list[WorkOrder] = []
    today = now.astimezone(calendar.LOCAL_TZ).date()
    for template in session.scalars(query.order_by(TaskTemplate.id)).all():
        if template.starts_on is not None and today < template.starts_on:
            continue
        key = period_key(template.recurrence, now)
        try:
            with session.begin_nested():
                occurrence = TaskOccurrence(template_id=template.id, period_key=key,
                                            work_points=template.work_points or Decimal(0),
                                            created_at=now)
                session.add(occurrence)
                session.flush()
        except IntegrityError:
            continue  # this period's occurrence exists already
        order = _issue(session, template, now)
        occurrence.order_id = order.id
        created.append(order)
    session.flush()
    return created


def _issue(session: Session, template: TaskTemplate, now: dt.datetime) -> WorkOrder:
    assignee = template.assignee
    team_id = template.team_id or (assignee.team_id if assignee else None)
    order = service.register_order(
        session, SYSTEM, channel=Channel.TASK.value, demand_type=DemandType.SERVICE.value,
        content=f"{template.title}\n{template.content or ''}".strip(), grid_id=template.grid_id,
        now=now, route=False,
        extra={"station_id": template.station_id, **({"team_id": team_id} if team_id else {})},
    )
    order.deadline_working_days = template.deadline_working_days
    order.deadline = calendar.add_working_days(now, template.deadline_working_days or 1)
    if assignee is not None:
        service.perform(session, SYSTEM, order.id, "dispatch",
                        {"assignee": assignee.id, "note": template.title}, now=now)
    return order


def work_points_of(session: Session, order_id: int) -> Decimal | None:
    """The work points a task order is worth (for the work-point ledger), None if not a task."""
    return session.scalar(select(TaskOccurrence.work_points).where(TaskOccurrence.order_id == order_id))


def award_points_on_completion(session: Session, order: WorkOrder, action: str, actor: Any,
                               params: dict[str, Any]) -> None:
    """Workflow hook: a task is complete when the team leader verifies its resolution."""
    if action == "verify" and order.channel == "task":
        award_task_points(session, order)


def award_task_points(session: Session, order: WorkOrder, now: dt.datetime | None = None) -> Any:
    """Put a completed task's work points on its handler's ledger, once while they stand (a
    task reopened or sent back for redo has them reversed, and earns them again when verified
    again).  With a scoring rule set active the rules decide (the default one awards the
    template's points); without any, the template's points are booked as they are."""
    from app.models.points import WorkPointEntry
    from app.rules.engine import active_rule_sets
    from app.rules.scoring import DOMAIN, ScoringFacts, live_entries, score_record

    occurrence = session.scalar(select(TaskOccurrence).where(TaskOccurrence.order_id == order.id))
    if occurrence is None or order.assignee_id is None or not occurrence.work_points:
        return None
    existing = live_entries(session, source_type="task", source_id=occurrence.id)
    if existing:
        return existing[0]
    at = now or order.verified_at or utcnow()
    label = f"{order.number} {occurrence.template.title} ({occurrence.period_key})"
    if active_rule_sets(session, DOMAIN):
        facts = ScoringFacts(demand_type=order.demand_type, channel=order.channel, priority=order.priority,
                             timely=order.timely, redo_count=order.redo_count or 0,
                             task_points=Decimal(occurrence.work_points))
        entries = score_record(session, source_type="task", source_id=occurrence.id,
                               staff_id=order.assignee_id, facts=facts, order_id=order.id, label=label, at=at)
        return entries[0] if entries else None
    entry = WorkPointEntry(staff_id=order.assignee_id, source_type="task", source_id=occurrence.id,
                           order_id=order.id, points=occurrence.work_points,
                           rule_name=f"task template {occurrence.template_id}",
                           facts={"source_type": "task", "template_id": occurrence.template_id,
                                  "period_key": occurrence.period_key,
                                  "task_points": float(occurrence.work_points)},
                           reason=label, created_at=at)
    session.add(entry)
    session.flush()
    return entry
