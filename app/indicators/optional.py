"""Indicators over tables another room owns (on-site visits, box–meter anomalies).

They are read through lightweight table constructs, not imported models, so this room works
before that room is merged: when the table is absent the figure is ``None`` and the screens
and reports show it as "not available" rather than as a misleading zero.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import column, func, inspect, select, table
from sqlalchemy.orm import Session

from app.indicators.period import Period
from app.indicators.scope import Scope, both
from app.models.base import UTCDateTime
from app.workflow.actor import Actor

VISIT_TABLE = "onsite_visit"
ANOMALY_TABLE = "onsite_meter_box_anomaly"
ANOMALY_OPEN_STATES = ("registered",)

_visit = table(VISIT_TABLE, column("id"), column("grid_id"), column("station_id"),
               column("staff_id"), column("visited_at", UTCDateTime()))
_anomaly = table(ANOMALY_TABLE, column("id"), column("grid_id"), column("station_id"),
                 column("state"), column("registered_at", UTCDateTime()),
                 column("rectified_at", UTCDateTime()))


def table_exists(session: Session, name: str) -> bool:
    cache = session.info.setdefault("gridcare_tables", {})
    if name not in cache:
        cache[name] = inspect(session.connection()).has_table(name)
    return cache[name]


def _scoped(actor: Actor, scope: Scope, t: Any) -> list[Any]:
    return both(actor.grid_clause(t.c.grid_id, t.c.station_id), scope.grid_clause(t.c.grid_id, t.c.station_id))


def visits_made(session: Session, actor: Actor, scope: Scope, period: Period) -> int | None:
    if not table_exists(session, VISIT_TABLE):
        return None
    conditions = _scoped(actor, scope, _visit) if scope.kind != "person" else [
        _visit.c.staff_id == scope.id, actor.grid_clause(_visit.c.grid_id, _visit.c.station_id)]
    return session.scalar(select(func.count()).select_from(_visit).where(
        *conditions, _visit.c.visited_at >= period.start, _visit.c.visited_at < period.end)) or 0


def visits_by_staff(session: Session, scope: Scope, period: Period) -> dict[int, int] | None:
    if not table_exists(session, VISIT_TABLE):
        return None
    rows = session.execute(select(_visit.c.staff_id, func.count()).where(
        scope.grid_clause(_visit.c.grid_id, _visit.c.station_id),
        _visit.c.visited_at >= period.start, _visit.c.visited_at < period.end,
    ).group_by(_visit.c.staff_id))
    return {staff_id: count for staff_id, count in rows if staff_id is not None}


def anomalies_open(session: Session, actor: Actor, scope: Scope) -> int | None:
    if not table_exists(session, ANOMALY_TABLE):
        return None
    return session.scalar(select(func.count()).select_from(_anomaly).where(
        *_scoped(actor, scope, _anomaly), _anomaly.c.state.in_(ANOMALY_OPEN_STATES))) or 0


def anomalies_rectified_by_grid(session: Session, scope: Scope, period: Period) -> dict[int, int] | None:
    if not table_exists(session, ANOMALY_TABLE):
        return None
    rows = session.execute(select(_anomaly.c.grid_id, func.count()).where(
        scope.grid_clause(_anomaly.c.grid_id, _anomaly.c.station_id),
        _anomaly.c.rectified_at >= period.start, _anomaly.c.rectified_at < period.end,
    ).group_by(_anomaly.c.grid_id))
    return dict(rows.all())
