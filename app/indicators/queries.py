"""The indicator queries.  Each takes the session, the viewer (``Actor``), the ``Scope`` and
the ``Period`` and returns plain numbers, so the dashboard, the PDF report and the benchmark
share them.  Rates are fractions (0–1) or ``None`` when their denominator is zero."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import ARRAY, Integer, and_, any_, bindparam, case, func, literal_column, or_, select
from sqlalchemy.orm import Session

from app.indicators import optional
from app.indicators.period import Period
from app.indicators.scope import Scope, both
from app.models.org import Position, StaffProfile
from app.models.clocks import WorkOrderClock
from app.models.login import LoginRecord
from app.models.points import WorkPointEntry
from app.models.workorder import OPEN_STATES, Channel, OrderState, ReturnVisit, SupervisionLevel, WorkOrder, WorkOrderEvent
from app.workflow import clocks
from app.workflow.actor import Actor

W = WorkOrder
SCORE_BUCKETS = [("<60", 0, 60), ("60–69", 60, 70), ("70–79", 70, 80), ("80–89", 80, 90), ("90–100", 90, 101)]
LOCAL_OFFSET_HOURS = 8  # Asia/Shanghai has no daylight saving: a fixed offset groups by local day


def _ratio(part: Any, whole: Any) -> float | None:
    return (float(part) / float(whole)) if whole else None


def _in_scope(actor: Actor, scope: Scope) -> list[Any]:
    return both(actor.order_clause(W), scope.order_clause(W))


def _within(col: Any, period: Period) -> Any:
    return and_(col >= period.start, col < period.end)


def timeliness(session: Session, actor: Actor, scope: Scope, period: Period) -> dict[str, Any]:
    """及时率: orders resolved in the period that met every clock / orders resolved in it.
    Also the average handling hours (received → resolved) of the same orders."""
    rows = session.execute(select(W.timely, W.received_at, W.resolved_at).where(
        *_in_scope(actor, scope), W.resolved_at.is_not(None), _within(W.resolved_at, period)))
    resolved = timely = 0
    hours = 0.0
    for is_timely, received_at, resolved_at in rows:
        resolved += 1
        timely += 1 if is_timely else 0
        hours += max((resolved_at - received_at).total_seconds(), 0) / 3600
    return {"resolved": resolved, "timely": timely, "timely_rate": _ratio(timely, resolved),
            "avg_handling_hours": (hours / resolved) if resolved else None}


CLOCK_ORDER = ("contact", "arrival", "restoration", "completion", "source")


def clock_timeliness(session: Session, actor: Actor, scope: Scope, period: Period) -> list[dict[str, Any]]:
    """Each clock's timely rate: of the milestones met in the period (first contact, arrival,
    restoration, completion, the source platform's deadline), the share met by their deadline.
    A clock no order of the scope ran in the period is not listed."""
    C = WorkOrderClock
    rows = session.execute(
        select(C.kind, func.count(), func.sum(case((C.timely.is_(True), 1), else_=0)))
        .join(W, W.id == C.order_id)
        .where(*_in_scope(actor, scope), C.met_at.is_not(None), _within(C.met_at, period))
        .group_by(C.kind)).all()
    found = {kind: (int(met), int(timely or 0)) for kind, met, timely in rows}
    return [{"kind": kind, "met": found[kind][0], "timely": found[kind][1],
             "timely_rate": _ratio(found[kind][1], found[kind][0])}
            for kind in sorted(found, key=lambda k: CLOCK_ORDER.index(k) if k in CLOCK_ORDER else 99)]


def on_time_resolution(session: Session, actor: Actor, scope: Scope, period: Period,
                       now: dt.datetime) -> dict[str, Any]:
    """Of the orders whose deadline fell in the period (up to now), the share resolved by it —
    unlike the timely rate, an order still open past its deadline counts against it; a voided
    order is no longer due."""
    end = min(period.end, now)
    due, on_time = session.execute(select(
        func.count(), func.sum(case((and_(W.resolved_at.is_not(None), W.resolved_at <= W.deadline), 1), else_=0)),
    ).where(*_in_scope(actor, scope), W.state != OrderState.VOIDED.value,
            W.deadline >= period.start, W.deadline < end)).one()
    return {"due": due or 0, "due_on_time": int(on_time or 0), "on_time_rate": _ratio(on_time or 0, due)}


def evaluation(session: Session, actor: Actor, scope: Scope, period: Period) -> dict[str, Any]:
    bucket = case(*[(and_(W.score >= lo, W.score < hi), label) for label, lo, hi in SCORE_BUCKETS], else_="?")
    rows = session.execute(select(bucket, func.count(), func.sum(W.score)).where(
        *_in_scope(actor, scope), W.score.is_not(None), W.evaluated_at.is_not(None),
        _within(W.evaluated_at, period)).group_by(bucket)).all()
    counts = {label: 0 for label, _, _ in SCORE_BUCKETS}
    total = points = 0
    for label, count, score_sum in rows:
        counts[label] = count
        total += count
        points += int(score_sum or 0)
    return {"evaluated": total, "avg_score": (points / total) if total else None,
            "distribution": [{"bucket": label, "count": counts[label]} for label, _, _ in SCORE_BUCKETS]}


def satisfaction(session: Session, actor: Actor, scope: Scope, period: Period) -> dict[str, Any]:
    # Return visits of the period first (few), then their orders' scope: the other way round
    # the planner would walk every order of the station.
    in_period = select(ReturnVisit.id).where(_within(ReturnVisit.visited_at, period))
    visits, satisfied = session.execute(
        select(func.count(ReturnVisit.id), func.sum(case((ReturnVisit.satisfied.is_(True), 1), else_=0)))
        .join(W, W.id == ReturnVisit.order_id)
        .where(ReturnVisit.id.in_(in_period), *_in_scope(actor, scope))).one()
    return {"return_visits": visits or 0, "satisfied": int(satisfied or 0),
            "satisfaction_rate": _ratio(satisfied or 0, visits)}


def backlog(session: Session, actor: Actor, scope: Scope, now: dt.datetime) -> dict[str, Any]:
    """Open, overdue (open, clock running, past any of its deadlines: the order list's 超期
    button) and supervised (督办) orders, now."""
    is_open = W.state.in_(OPEN_STATES)
    overdue = clocks.overdue_clause(now)
    supervised = and_(or_(is_open, W.state == "resolved"), W.supervision_level != SupervisionLevel.NONE.value)
    row = session.execute(select(
        func.sum(case((is_open, 1), else_=0)), func.sum(case((overdue, 1), else_=0)),
        func.sum(case((supervised, 1), else_=0)),
    ).where(*_in_scope(actor, scope), W.state.in_((*OPEN_STATES, "resolved")))).one()
    return {"open": int(row[0] or 0), "overdue": int(row[1] or 0), "supervised": int(row[2] or 0)}


def month_overdue_clause(period: Period, now: dt.datetime) -> Any:
    """Overdue in a month: the deadline fell in the month (up to now) and the order was not
    resolved by it.  The dashboard's monthly card, the PDF report and the list's
    ``?overdue_month=`` all count with this one clause."""
    return and_(W.deadline >= period.start, W.deadline < min(period.end, now),
                or_(W.resolved_at.is_(None), W.resolved_at > W.deadline))


def month_supervised_clause(period: Period) -> Any:
    """Under supervision (督办) in a month: supervised (a 督办 event in the month), or
    carrying a supervision level while it was open in the month — an order escalated on
    registration or in an earlier month is still supervised work of this one."""
    supervised_in_month = select(WorkOrderEvent.order_id).where(
        WorkOrderEvent.action == "supervise", _within(WorkOrderEvent.created_at, period))
    open_in_month = and_(W.registered_at < period.end,
                         or_(W.resolved_at.is_(None), W.resolved_at >= period.start))
    return or_(W.id.in_(supervised_in_month),
               and_(W.supervision_level != SupervisionLevel.NONE.value, open_in_month))


def month_backlog(session: Session, actor: Actor, scope: Scope, period: Period,
                  now: dt.datetime) -> dict[str, Any]:
    """The month's overdue and supervised orders (the PDF report's sections 四 and 五)."""
    where = _in_scope(actor, scope)
    overdue = session.scalar(select(func.count()).select_from(W).where(
        *where, month_overdue_clause(period, now))) or 0
    supervised = session.scalar(select(func.count()).select_from(W).where(
        *where, month_supervised_clause(period))) or 0
    return {"month_overdue": int(overdue), "month_supervised": int(supervised)}


def _local_day(session: Session, col: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return func.date(col, f"+{LOCAL_OFFSET_HOURS} hours")
    if dialect == "postgresql":
        return func.date(col + literal_column(f"interval '{LOCAL_OFFSET_HOURS} hours'"))
    return func.date(func.date_add(col, literal_column(f"INTERVAL {LOCAL_OFFSET_HOURS} HOUR")))


def orders_by_channel(session: Session, actor: Actor, scope: Scope, period: Period) -> dict[str, Any]:
    """Orders registered in the period by channel, by demand type, and per local day."""
    where = [*_in_scope(actor, scope), _within(W.registered_at, period)]
    channels = dict(session.execute(select(W.channel, func.count()).where(*where).group_by(W.channel)).all())
    demands = dict(session.execute(select(W.demand_type, func.count()).where(*where)
                                   .group_by(W.demand_type)).all())
    day = _local_day(session, W.registered_at)
    series: dict[str, dict[str, int]] = {}
    for d, channel, count in session.execute(select(day, W.channel, func.count()).where(*where)
                                             .group_by(day, W.channel)):
        series.setdefault(channel, {})[str(d)[:10]] = count
    return {"registered": sum(channels.values()), "by_channel": channels, "by_demand_type": demands,
            "daily": series, "days": [d.isoformat() for d in period.local_days()]}


def leaderboard(session: Session, actor: Actor, scope: Scope, period: Period, limit: int = 10) -> list[dict[str, Any]]:
    """Work points (工分) earned in the period, highest first, staff of the scope only."""
    total = func.sum(WorkPointEntry.points)
    rows = session.execute(
        select(StaffProfile.id, StaffProfile.name, total)
        .join(StaffProfile, StaffProfile.id == WorkPointEntry.staff_id)
        .where(_staff_visible(actor), scope.staff_clause(StaffProfile), _within(WorkPointEntry.created_at, period))
        .group_by(StaffProfile.id, StaffProfile.name).order_by(total.desc(), StaffProfile.name).limit(limit))
    return [{"staff_id": sid, "name": name, "points": float(points or Decimal(0))} for sid, name, points in rows]


def _staff_visible(actor: Actor) -> Any:
    level = actor.scope_level()
    if level == "all":
        return StaffProfile.id == StaffProfile.id
    if level == "station":
        return StaffProfile.station_id == actor.station_id
    if level == "team":
        return StaffProfile.team_id == actor.team_id
    return StaffProfile.id == actor.staff_id


def application_rate(session: Session, actor: Actor, scope: Scope, period: Period) -> dict[str, Any]:
    """功能应用率: staff of the scope (on duty, active account) who used the platform in the
    period — signed in (the login history: web, API or mobile) or acted on an order (timeline
    events).  Both are rows written when they happen, so a past month's rate never changes."""
    staff = session.scalars(
        select(StaffProfile.user_id).join(User, User.id == StaffProfile.user_id)
        .where(_staff_visible(actor), scope.staff_clause(StaffProfile), StaffProfile.on_duty.is_(True),
               User.active.is_(True), StaffProfile.position != Position.ADMIN.value)).all()
    if not staff:
        return {"staff": 0, "active_staff": 0, "application_rate": None}
    user_ids = list(staff)
    acted = set(session.scalars(select(WorkOrderEvent.actor_id).where(
        WorkOrderEvent.actor_id.in_(user_ids), _within(WorkOrderEvent.created_at, period)).distinct()))
    logged_in = set(session.scalars(select(LoginRecord.user_id).where(
        LoginRecord.user_id.in_(user_ids), _within(LoginRecord.logged_in_at, period)).distinct()))
    active = len(acted | logged_in)
    return {"staff": len(staff), "active_staff": active, "application_rate": _ratio(active, len(staff))}


def redo_rate(session: Session, actor: Actor, scope: Scope, period: Period) -> dict[str, Any]:
    """重办率: of the orders resolved in the period, the share sent back for redo in it (an
    unsatisfied return visit, or a reopening within the window).  Counted from the timeline,
    which is never rewritten, so a past month's rate stays what it was."""
    E = WorkOrderEvent
    scoped = select(W.id).where(*_in_scope(actor, scope))
    resolved = session.scalar(select(func.count(func.distinct(E.order_id))).where(
        E.action == "resolve", _within(E.created_at, period), E.order_id.in_(scoped))) or 0
    redone = session.scalar(select(func.count(func.distinct(E.order_id))).where(
        or_(E.action == "redo", and_(E.action == "reopen", E.from_state == "evaluated",
                                     E.to_state != "evaluated")),
        _within(E.created_at, period), E.order_id.in_(scoped))) or 0
    return {"redo_resolved": int(resolved), "redone": int(redone), "redo_rate": _ratio(redone, resolved)}


RESPONSE_ACTIONS = ("accept", "contact", "arrive", "resolve")


def hotline_rates(session: Session, actor: Actor, scope: Scope, period: Period) -> list[dict[str, Any]]:
    """The "three rates" (三率) the government platforms judge a station by, per channel, over
    the orders registered in the period: response rate (the first response — accepting,
    contacting, arriving or resolving, as the timeline records it — by the response deadline:
    the first-contact or arrival clock's, else the order's), resolution rate (resolved,
    verified or evaluated) and satisfaction rate (satisfied return visits of those orders /
    their return visits)."""
    C, E = WorkOrderClock, WorkOrderEvent
    orders = session.execute(select(W.id, W.channel, W.deadline, W.state).where(
        *_in_scope(actor, scope), _within(W.registered_at, period))).all()
    if not orders:
        return []
    ids = [o.id for o in orders]
    due: dict[int, Any] = dict(session.execute(select(C.order_id, func.min(C.deadline)).where(
        _among(session, C.order_id, ids), C.kind.in_(("contact", "arrival"))).group_by(C.order_id)).all())
    first: dict[int, Any] = dict(session.execute(select(E.order_id, func.min(E.created_at)).where(
        _among(session, E.order_id, ids), E.action.in_(RESPONSE_ACTIONS)).group_by(E.order_id)).all())
    visits: dict[int, list[bool]] = {}
    for order_id, satisfied in session.execute(select(ReturnVisit.order_id, ReturnVisit.satisfied).where(
            _among(session, ReturnVisit.order_id, ids))):
        visits.setdefault(order_id, []).append(bool(satisfied))
    done = {"resolved", "verified", "evaluated"}
    table: dict[str, dict[str, int]] = {}
    for o in orders:
        row = table.setdefault(o.channel, {"registered": 0, "responded": 0, "resolved": 0,
                                           "return_visits": 0, "satisfied": 0})
        row["registered"] += 1
        deadline = due.get(o.id) or o.deadline
        responded_at = first.get(o.id)
        if responded_at is not None and (deadline is None or _utc(responded_at) <= _utc(deadline)):
            row["responded"] += 1
        row["resolved"] += 1 if o.state in done else 0
        row["return_visits"] += len(visits.get(o.id, []))
        row["satisfied"] += sum(visits.get(o.id, []))
    channels = [c.value for c in Channel]
    return [{"channel": code, **row, "response_rate": _ratio(row["responded"], row["registered"]),
             "resolution_rate": _ratio(row["resolved"], row["registered"]),
             "satisfaction_rate": _ratio(row["satisfied"], row["return_visits"])}
            for code, row in sorted(table.items(), key=lambda kv: channels.index(kv[0])
                                    if kv[0] in channels else 99)]


def _among(session: Session, column: Any, ids: list[int]) -> Any:
    """``column IN ids``; on PostgreSQL as one array parameter (``= ANY(%s)``).  A big station's
    month is thousands of ids: as that many bound parameters, psycopg's client-side conversion
    cost more than the statements (0.3 s a dashboard).  Still a list of the station's orders,
    not a subquery of them, so the planner probes the order_id indexes instead of hashing every
    event of every station."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, ids, type_=ARRAY(Integer)))
    return column.in_(ids)


def _utc(value: dt.datetime) -> dt.datetime:
    # min() over a UTCDateTime column comes back without the type's processing on some drivers.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def dashboard_indicators(session: Session, actor: Actor, scope: Scope, period: Period,
                         now: dt.datetime) -> dict[str, Any]:
    """Everything the dashboard shows, in one dictionary."""
    return {
        "scope": {"kind": scope.kind, "id": scope.id, "label": scope.label, "key": scope.key},
        "period": period.label,
        **timeliness(session, actor, scope, period),
        "clocks": clock_timeliness(session, actor, scope, period),
        **on_time_resolution(session, actor, scope, period, now),
        **evaluation(session, actor, scope, period),
        **satisfaction(session, actor, scope, period),
        **backlog(session, actor, scope, now),
        **month_backlog(session, actor, scope, period, now),
        "orders": orders_by_channel(session, actor, scope, period),
        "leaderboard": leaderboard(session, actor, scope, period),
        **application_rate(session, actor, scope, period),
        **redo_rate(session, actor, scope, period),
        "hotline": hotline_rates(session, actor, scope, period),
        "visits_made": optional.visits_made(session, actor, scope, period),
        "anomalies_open": optional.anomalies_open(session, actor, scope),
    }
