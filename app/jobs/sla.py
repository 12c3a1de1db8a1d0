"""SLA sweeps: warn open orders as they use up the allowed time of each of their clocks.

Every open clock of an order is watched (first contact, arrival, restoration, completion,
the source platform's deadline; ``app/workflow/clocks.py``): warnings are rows per order,
clock and level.  Clocks due at the same moment are warned once, against the first of them
(an order whose completion is clamped to an earlier source deadline is warned against the
source deadline).  Shares are of the allowed time without suspended time.

Levels are shares of the allowed time (``SLA_WARNING_LEVELS``, 50/75/90 % by default), then
overdue.  Each level reaches wider: the first the assignee (the team leaders while nobody is
assigned), the second adds the team leaders, the third and overdue add the station
managers.  Only the highest level reached is sent (an order first seen at 80 % gets the
75 % warning, not a burst of two), and each level at most once per order: the unique
(order, level) row is taken before anyone is told.  Overdue orders get a timeline event and
are handed to the escalation rules when that module is installed.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload

from app.models.base import utcnow
from app.models.jobs import SlaWarning
from app.models.notification import Notification
from app.notifications import queue_external
from app.notifications.workorder import team_leader_users
from app.models.org import Position, StaffProfile
from app.models.clocks import ClockKind, WorkOrderClock
from app.models.workorder import OPEN_STATES, Suspension, WorkOrder, WorkOrderEvent
from app.workflow import clocks
from app.workflow.calendar import LOCAL_TZ
from app.workflow.clocks import ClockReading

log = logging.getLogger(__name__)

OVERDUE = "overdue"


def warning_levels(config: Any = None) -> list[int]:
    raw = (config or {}).get("SLA_WARNING_LEVELS", "50,75,90") if config is not None else "50,75,90"
    levels = sorted({int(p) for p in str(raw).replace(" ", "").split(",") if p.strip().isdigit()})
    return [level for level in levels if 0 < level < 100] or [50, 75, 90]


Clock = ClockReading  # the name the screens and older callers use


def clock_of(order: WorkOrder, now: dt.datetime | None = None) -> ClockReading | None:
    """The order's nearest open clock (or, once all are met, its completion clock)."""
    now = now or utcnow()
    session = object_session(order)
    if session is None:
        return None
    readings = clocks.read_clocks(session, order, now)
    open_ = clocks.watched(readings)
    if open_:
        return open_[0]
    done = [r for r in readings if r.kind == ClockKind.COMPLETION.value]
    return done[0] if done else (readings[0] if readings else None)


def due_level(clock: ClockReading, levels: list[int]) -> str | None:
    if clock.overdue:
        return OVERDUE
    reached = [level for level in levels if clock.share * 100 >= level]
    return str(reached[-1]) if reached else None


def _recipients(session: Session, order: WorkOrder, rank: int) -> list[int]:
    """User ids told at this rank (0 = first level … 2+ = third level and overdue)."""
    users: list[int] = []
    if order.assignee_id:
        assignee = session.get(StaffProfile, order.assignee_id)
        if assignee is not None:
            users.append(assignee.user_id)
    if rank >= 1 or not users:
        if order.team_id:
            users += session.scalars(select(StaffProfile.user_id).where(
                StaffProfile.team_id == order.team_id,
                StaffProfile.position == Position.TEAM_LEADER.value))
    if rank >= 2 and order.station_id:
        users += session.scalars(select(StaffProfile.user_id).where(
            StaffProfile.station_id == order.station_id,
            StaffProfile.position == Position.STATION_MANAGER.value))
    return list(dict.fromkeys(users))


def _mail_enabled(config: Any) -> bool:
    setting = str((config or {}).get("SLA_MAIL", "auto")).lower()
    if setting in ("0", "false", "no", "off"):
        return False
    if setting == "auto":
        return bool((config or {}).get("SMTP_URL"))
    return True


def sweep(session: Session, now: dt.datetime | None = None, config: Any = None) -> dict[str, int]:
    """Warn every open order that reached a new level; the caller commits."""
    now = now or utcnow()
    levels = warning_levels(config)
    ladder = [str(level) for level in levels] + [OVERDUE]
    counts = {"orders": 0, "warnings": 0, "notifications": 0, "mails": 0, "overdue": 0}
    orders = session.scalars(
        select(WorkOrder).where(WorkOrder.state.in_(OPEN_STATES), WorkOrder.suspended.is_(False),
                                WorkOrder.clocks.any(WorkOrderClock.met_at.is_(None)))
        .options(selectinload(WorkOrder.clocks)).order_by(WorkOrder.id)
    ).all()
    if not orders:
        return counts
    ids = [o.id for o in orders]
    sent: dict[tuple[int, str], set[str]] = {}
    for order_id, kind, level in session.execute(
        select(SlaWarning.order_id, SlaWarning.clock, SlaWarning.level).where(SlaWarning.order_id.in_(ids))
    ):
        sent.setdefault((order_id, kind), set()).add(level)
    pauses: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for order_id, began, ended in session.execute(
        select(Suspension.order_id, Suspension.started_at, Suspension.ended_at)
        .where(Suspension.order_id.in_(ids)).order_by(Suspension.started_at)
    ):
        pauses.setdefault(order_id, []).append((began, ended))
    mails: list[tuple[str, str, str]] = []
    for order in orders:
        counts["orders"] += 1
        for clock in clocks.watched(clocks.read_clocks(session, order, now, pauses.get(order.id, []))):
            _warn(session, order, clock, levels, ladder, sent.get((order.id, clock.kind), set()),
                  now, config, counts, mails)
    session.flush()
    if counts["overdue"]:
        _escalate(session, now)
    if mails:
        counts["mails"] = _send_mails(mails, config)
    return counts


def _warn(session: Session, order: WorkOrder, clock: ClockReading, levels: list[int], ladder: list[str],
          sent: set[str], now: dt.datetime, config: Any, counts: dict[str, int],
          mails: list[tuple[str, str, str]]) -> None:
    """Send this clock's highest level reached, unless it (or a higher one) went out already."""
    level = due_level(clock, levels)
    if level is None or level in sent:
        return
    rank = min(ladder.index(level), 2)
    # A level already passed (e.g. 90 % sent, the 75 % sweep came late) is not sent.
    if any(ladder.index(s) > ladder.index(level) for s in sent if s in ladder):
        return
    users = _recipients(session, order, rank)
    warning = SlaWarning(order_id=order.id, clock=clock.kind, level=level,
                         elapsed_share=round(clock.share, 4), recipients=len(users), mailed=0, sent_at=now)
    try:
        with session.begin_nested():
            session.add(warning)
            session.flush()
    except IntegrityError:
        return  # another sweep sent this level a moment ago
    counts["warnings"] += 1
    what = _CLOCK_NAMES.get(clock.kind, clock.kind)
    deadline = clock.deadline.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    if level == OVERDUE:
        counts["overdue"] += 1
        title = f"工单 {order.number} {what}已超时（时限 {deadline}）"
        session.add(WorkOrderEvent(order_id=order.id, action="overdue", from_state=order.state,
                                   to_state=order.state, actor_name="系统",
                                   note=f"{what}已超过时限 {deadline}", created_at=now,
                                   data={"share": round(clock.share, 4), "clock": clock.kind}))
    else:
        title = f"工单 {order.number} {what}已用时 {level}%（时限 {deadline}）"
    used = "已用时间" if clock.round_the_clock else "已用工作时间"
    body = f"{order.content[:200]}\n{what}{used} {clock.percent}%，剩余 {_hours(clock.remaining)}。"
    # An overdue order reaches the team leaders by their own channels too (mail and SMS per
    # their preference; the mail only when the SLA mail below does not send one already).
    leaders = set(team_leader_users(session, order.team_id)) if level == OVERDUE else set()
    external = frozenset({"sms"} if _mail_enabled(config) else {"mail", "sms"})
    for user_id in users:
        note = Notification(user_id=user_id, kind="sla", title=title[:255], body=body,
                            link=f"/workorderview/show/{order.id}", order_id=order.id, created_at=now)
        session.add(note)
        counts["notifications"] += 1
        if user_id in leaders:
            session.flush()
            queue_external(session, note, now, channels=external)
    if users and _mail_enabled(config):
        for email in session.scalars(select(User.email).where(User.id.in_(users))):
            if email:
                mails.append((email, title, body))
                warning.mailed += 1


# Notifications are written in the station's language; the completion clock is "the" limit.
_CLOCK_NAMES = {
    ClockKind.CONTACT.value: "首次联系", ClockKind.ARRIVAL.value: "到达现场",
    ClockKind.RESTORATION.value: "恢复送电", ClockKind.COMPLETION.value: "",
    ClockKind.SOURCE.value: "来源平台时限",
}


def _hours(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.1f} 小时"


def _escalate(session: Session, now: dt.datetime) -> None:
    try:
        from app.rules.escalation import run_escalation  # built by the rules branch
    except ImportError:
        log.info("no escalation rules installed; overdue orders are marked only")
        return
    run_escalation(session, now)


def _send_mails(mails: list[tuple[str, str, str]], config: Any) -> int:
    from app import mail

    sent = 0
    for to, subject, body in mails:
        try:
            mail.send(mail.build_message(to, subject, body), (config or {}).get("SMTP_URL", ""),
                      (config or {}).get("OUTBOX_DIR", "instance/outbox"))
            sent += 1
        except OSError:
            log.exception("SLA mail to %s failed", to)
    return sent


def sweep_job(session: Session, now: dt.datetime) -> dict[str, int]:
    """The scheduled job (``app.jobs.sla.sweep_job``)."""
    config = None
    try:
        from flask import current_app

        config = current_app.config
    except RuntimeError:
        pass
    return sweep(session, now, config)
