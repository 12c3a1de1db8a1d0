"""Reading the work-point ledger, scoped like orders: a district manager sees their own
entries, a team leader those of their team, a station manager those of their station,
an administrator everything; other roles see none.

The screens and ``GET /api/v1/workpoint/`` share these queries; the dashboard and the monthly
report sum the same table (``app/indicators/queries.py``, ``app/reports/data.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import case, false, func, select, true
from sqlalchemy.orm import Session, selectinload

from app.indicators.period import Period
from app.models.org import StaffProfile
from app.models.points import EntryKind, WorkPointEntry
from app.models.workorder import WorkOrder
from app.rules.scoring import SOURCE_TYPES
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput, OutOfScope

E = WorkPointEntry
SOURCES = tuple(option["name"] for option in SOURCE_TYPES)


def staff_clause(actor: Actor) -> Any:
    """Which people's points the actor may read (a condition on ``StaffProfile``)."""
    level = actor.scope_level()
    if level == "all":
        return true()
    if level == "station":
        return StaffProfile.station_id == actor.station_id if actor.station_id else false()
    if level == "team":
        return StaffProfile.team_id == actor.team_id if actor.team_id else false()
    if level == "grid":
        return StaffProfile.id == actor.staff_id if actor.staff_id else false()
    return false()


def find_staff(session: Session, actor: Actor, ref: str) -> StaffProfile:
    """A person by username or staff id, in the actor's scope (else ``OutOfScope``)."""
    ref = (ref or "").strip()
    query = select(StaffProfile)
    if ref.isdigit():
        query = query.where(StaffProfile.id == int(ref))
    else:
        query = query.join(User, User.id == StaffProfile.user_id).where(User.username == ref)
    person = session.scalar(query)
    if person is None:
        raise InvalidInput(f"unknown staff: {ref}", field="staff")
    visible = session.scalar(select(StaffProfile.id).where(StaffProfile.id == person.id, staff_clause(actor)))
    if visible is None:
        raise OutOfScope("that person's work points are outside your scope")
    return person


def check_source(source: str | None) -> str | None:
    if source in (None, ""):
        return None
    if source not in SOURCES:
        raise InvalidInput(f"unknown source: {source} (one of {', '.join(SOURCES)})", field="source")
    return source


@dataclass
class Page:
    entries: list[WorkPointEntry]
    next_after_id: int | None
    numbers: dict[int, str]
    total: Decimal


def _where(actor: Actor, staff: StaffProfile | None, period: Period | None, source: str | None,
           source_id: int | None) -> list[Any]:
    where = [staff_clause(actor)]
    if staff is not None:
        where.append(E.staff_id == staff.id)
    if period is not None:
        where += [E.created_at >= period.start, E.created_at < period.end]
    if source is not None:
        where.append(E.source_type == source)
    if source_id is not None:
        where.append(E.source_id == source_id)
    return where


def entries(session: Session, actor: Actor, *, staff: StaffProfile | None = None, period: Period | None = None,
            source: str | None = None, source_id: int | None = None, after_id: int | None = None,
            limit: int = 100) -> Page:
    """Ledger entries in scope, newest first (keyset paging by id), and the sum of every
    entry the filters select."""
    where = _where(actor, staff, period, source, source_id)
    query = (select(E).join(StaffProfile, StaffProfile.id == E.staff_id).where(*where)
             .options(selectinload(E.staff)))
    if after_id is not None:
        query = query.where(E.id < after_id)
    rows = list(session.scalars(query.order_by(E.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    order_ids = {e.order_id for e in rows if e.order_id}
    numbers = dict(session.execute(select(WorkOrder.id, WorkOrder.number).where(
        WorkOrder.id.in_(order_ids))).all()) if order_ids else {}
    total = session.scalar(select(func.coalesce(func.sum(E.points), 0))
                           .join(StaffProfile, StaffProfile.id == E.staff_id).where(*where))
    return Page(rows, rows[-1].id if more and rows else None, numbers, Decimal(total or 0))


def monthly_totals(session: Session, actor: Actor, period: Period) -> list[dict[str, Any]]:
    """One row per person in scope with entries in the month: points, entries, reversals."""
    total = func.sum(E.points)
    reversals = func.sum(case((E.kind == EntryKind.REVERSAL.value, 1), else_=0))
    rows = session.execute(
        select(StaffProfile.id, StaffProfile.name, total, func.count(E.id), reversals)
        .join(StaffProfile, StaffProfile.id == E.staff_id)
        .where(staff_clause(actor), E.created_at >= period.start, E.created_at < period.end)
        .group_by(StaffProfile.id, StaffProfile.name).order_by(total.desc(), StaffProfile.name)).all()
    return [{"staff_id": sid, "name": name, "points": Decimal(points or 0), "entries": count,
             "reversals": int(reversed_ or 0)} for sid, name, points, count, reversed_ in rows]


def entry_json(entry: WorkPointEntry, numbers: dict[int, str]) -> dict[str, Any]:
    return {
        "id": entry.id, "staff_id": entry.staff_id, "staff": entry.staff.name, "kind": entry.kind,
        "source_type": entry.source_type, "source_id": entry.source_id, "order_id": entry.order_id,
        "order_number": numbers.get(entry.order_id) if entry.order_id else None,
        "points": float(entry.points), "rule_set": entry.rule_set, "rule_set_version": entry.rule_set_version,
        "rule_name": entry.rule_name, "lines": entry.lines or [], "facts": entry.facts or {},
        "reverses_id": entry.reverses_id, "reason": entry.reason, "booked_at": entry.created_at,
    }
