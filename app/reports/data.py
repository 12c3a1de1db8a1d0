"""What the monthly evaluation report says: headline indicators against the previous month and
the target, one row per district manager, the channel breakdown, and the month's overdue and
supervised orders — summarised (counts, then the first rows), never thousands of lines."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.indicators import optional
from app.indicators.period import Period
from app.indicators.queries import (
    application_rate,
    clock_timeliness,
    evaluation,
    hotline_rates,
    month_overdue_clause,
    month_supervised_clause,
    on_time_resolution,
    orders_by_channel,
    redo_rate,
    satisfaction,
    timeliness,
)
from app.indicators.scope import Scope, both
from app.models.org import Grid, Position, StaffProfile
from app.models.points import WorkPointEntry
from app.models.workorder import WorkOrder
from app.reports import labels
from app.workflow.actor import Actor

W = WorkOrder
DEFAULT_TARGETS = {"timely_rate": 0.99, "on_time_rate": 0.98, "avg_score": 90.0, "satisfaction_rate": 0.98,
                   "application_rate": 0.95, "avg_handling_hours": 48.0}
LISTED_ROWS = 20


def headline(session: Session, actor: Actor, scope: Scope, period: Period, now: dt.datetime) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    figures.update(timeliness(session, actor, scope, period))
    figures.update(on_time_resolution(session, actor, scope, period, now))
    figures.update(evaluation(session, actor, scope, period))
    figures.update(satisfaction(session, actor, scope, period))
    figures.update(application_rate(session, actor, scope, period))
    figures.update(redo_rate(session, actor, scope, period))
    figures["registered"] = session.scalar(select(func.count()).select_from(W).where(
        *both(actor.order_clause(W), scope.order_clause(W)), W.registered_at >= period.start,
        W.registered_at < period.end)) or 0
    return figures


def managers(session: Session, actor: Actor, scope: Scope, period: Period) -> list[dict[str, Any]]:
    """One row per district manager of the scope, each figure from one grouped query."""
    people = list(session.scalars(select(StaffProfile).where(
        scope.staff_clause(StaffProfile), StaffProfile.position == Position.DISTRICT_MANAGER.value)
        .order_by(StaffProfile.name)))
    ids = [p.id for p in people]
    if not ids:
        return []
    base = [*both(actor.order_clause(W), scope.order_clause(W)), W.assignee_id.in_(ids)]
    registered = dict(session.execute(select(W.assignee_id, func.count()).where(
        *base, W.registered_at >= period.start, W.registered_at < period.end).group_by(W.assignee_id)).all())
    resolved = {a: (n, int(t or 0)) for a, n, t in session.execute(select(
        W.assignee_id, func.count(), func.sum(case((W.timely.is_(True), 1), else_=0))).where(
        *base, W.resolved_at >= period.start, W.resolved_at < period.end).group_by(W.assignee_id))}
    scores = {a: (n, int(s or 0)) for a, n, s in session.execute(select(
        W.assignee_id, func.count(), func.sum(W.score)).where(
        *base, W.score.is_not(None), W.evaluated_at >= period.start, W.evaluated_at < period.end)
        .group_by(W.assignee_id))}
    points = {s: float(p or 0) for s, p in session.execute(select(
        WorkPointEntry.staff_id, func.sum(WorkPointEntry.points)).where(
        WorkPointEntry.staff_id.in_(ids), WorkPointEntry.created_at >= period.start,
        WorkPointEntry.created_at < period.end).group_by(WorkPointEntry.staff_id))}
    visits = optional.visits_by_staff(session, scope, period)
    rectified_by_grid = optional.anomalies_rectified_by_grid(session, scope, period)
    grids_of: dict[int, list[int]] = {}
    for grid_id, owner in session.execute(select(Grid.id, Grid.district_manager_id).where(
            Grid.district_manager_id.in_(ids))):
        grids_of.setdefault(owner, []).append(grid_id)
    rows = []
    for person in people:
        n_resolved, n_timely = resolved.get(person.id, (0, 0))
        n_scored, score_sum = scores.get(person.id, (0, 0))
        rows.append({
            "staff_id": person.id, "name": person.name,
            "orders": registered.get(person.id, 0), "resolved": n_resolved, "timely": n_timely,
            "timely_rate": (n_timely / n_resolved) if n_resolved else None,
            "avg_score": (score_sum / n_scored) if n_scored else None,
            "work_points": points.get(person.id, 0.0),
            "visits": None if visits is None else visits.get(person.id, 0),
            "anomalies_rectified": None if rectified_by_grid is None else sum(
                rectified_by_grid.get(g, 0) for g in grids_of.get(person.id, [])),
        })
    return rows


def _order_row(order: WorkOrder, names: dict[int, str]) -> dict[str, Any]:
    return {"number": order.number, "channel": labels.CHANNELS.get(order.channel, order.channel),
            "demand_type": labels.DEMAND_TYPES.get(order.demand_type, order.demand_type),
            "state": labels.STATES.get(order.state, order.state),
            "assignee": names.get(order.assignee_id or 0, "—"), "deadline": order.deadline,
            "resolved_at": order.resolved_at,
            "supervision": labels.SUPERVISION.get(order.supervision_level, order.supervision_level)}


def overdue_and_supervised(session: Session, actor: Actor, scope: Scope, period: Period,
                           now: dt.datetime) -> dict[str, Any]:
    """Overdue: deadline in the month, not resolved by it.  Supervised: under supervision in
    the month.  Counted with the dashboard's clauses (``app.indicators.queries``)."""
    scoped = both(actor.order_clause(W), scope.order_clause(W))
    overdue_where = [*scoped, month_overdue_clause(period, now)]
    supervised_where = [*scoped, month_supervised_clause(period)]
    names = dict(session.execute(select(StaffProfile.id, StaffProfile.name)).all())
    result: dict[str, Any] = {}
    for key, where in (("overdue", overdue_where), ("supervised", supervised_where)):
        total = session.scalar(select(func.count()).select_from(W).where(*where)) or 0
        by_assignee = Counter({names.get(a or 0, "未派单"): n for a, n in session.execute(
            select(W.assignee_id, func.count()).where(*where).group_by(W.assignee_id))})
        listed = session.scalars(select(W).where(*where).order_by(W.deadline, W.id).limit(LISTED_ROWS)).all()
        result[key] = {"total": total, "by_assignee": by_assignee.most_common(),
                       "rows": [_order_row(o, names) for o in listed], "more": max(total - LISTED_ROWS, 0)}
    return result


def evaluation_report(session: Session, actor: Actor, scope: Scope, period: Period, now: dt.datetime,
                      targets: dict[str, float] | None = None) -> dict[str, Any]:
    targets = {**DEFAULT_TARGETS, **(targets or {})}
    current = headline(session, actor, scope, period, now)
    previous = headline(session, actor, scope, period.previous_month(), now)
    orders = orders_by_channel(session, actor, scope, period)
    channels = sorted(orders["by_channel"].items(), key=lambda kv: -kv[1])
    demands = sorted(orders["by_demand_type"].items(), key=lambda kv: -kv[1])
    total = orders["registered"] or 0
    return {
        "scope": scope, "scope_kind_label": labels.SCOPES.get(scope.kind, scope.kind),
        "period": period, "previous_period": period.previous_month(), "generated_at": now,
        "current": current, "previous": previous, "targets": targets,
        "clocks": [{**row, "label": labels.CLOCKS.get(row["kind"], row["kind"])}
                   for row in clock_timeliness(session, actor, scope, period)],
        "managers": managers(session, actor, scope, period),
        "channels": [{"code": c, "label": labels.CHANNELS.get(c, c), "count": n,
                      "share": (n / total) if total else None} for c, n in channels],
        "demand_types": [{"code": d, "label": labels.DEMAND_TYPES.get(d, d), "count": n} for d, n in demands],
        "registered": total,
        "hotline": [{**row, "label": labels.CHANNELS.get(row["channel"], row["channel"])}
                    for row in hotline_rates(session, actor, scope, period)],
        **overdue_and_supervised(session, actor, scope, period, now),
        "visits_available": optional.table_exists(session, optional.VISIT_TABLE),
        "anomalies_available": optional.table_exists(session, optional.ANOMALY_TABLE),
    }

