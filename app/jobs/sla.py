"""SLA sweeps: warn open orders as they use up their allowed working time.

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
from dataclasses import dataclass, field
from typing import Any

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.jobs import SlaWarning
from app.models.notification import Notification
from app.models.org import Position, StaffProfile
from app.models.workorder import OPEN_STATES, WorkOrder, WorkOrderEvent
from app.workflow.calendar import LOCAL_TZ, working_time_between

log = logging.getLogger(__name__)

OVERDUE = "overdue"


def warning_levels(config: Any = None) -> list[int]:
    raw = (config or {}).get("SLA_WARNING_LEVELS", "50,75,90") if config is not None else "50,75,90"
    levels = sorted({int(p) for p in str(raw).replace(" ", "").split(",") if p.strip().isdigit()})
    return [level for level in levels if 0 < level < 100] or [50, 75, 90]


@dataclass
class Clock:
    deadline: dt.datetime
    allowed: dt.timedelta
    elapsed: dt.timedelta
    share: float
    overdue: bool
    running: bool
    warnings: list[SlaWarning] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return int(round(self.share * 100))

    @property
    def remaining(self) -> dt.timedelta:
        return max(dt.timedelta(0), self.allowed - self.elapsed)


def clock_of(order: WorkOrder, now: dt.datetime | None = None) -> Clock | None:
    """The order's clock: working time allowed, used (paused while suspended), share."""
    if order.deadline is None or order.received_at is None:
        return None
    now = now or utcnow()
    running = order.state in OPEN_STATES and not order.suspended
    end = now
    if order.suspended and order.suspended_at:
        end = order.suspended_at
    elif order.state not in OPEN_STATES:
        end = order.resolved_at or now
    allowed = working_time_between(order.received_at, order.deadline)
    elapsed = working_time_between(order.received_at, end)
    if allowed.total_seconds() > 0:
        share = elapsed / allowed
    else:
        share = 1.0 if end >= order.deadline else 0.0
    return Clock(deadline=order.deadline, allowed=allowed, elapsed=elapsed, share=share,
                 overdue=end > order.deadline, running=running)


def due_level(clock: Clock, levels: list[int]) -> str | None:
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
        select(WorkOrder).where(WorkOrder.state.in_(OPEN_STATES), WorkOrder.deadline.is_not(None),
                                WorkOrder.suspended.is_(False)).order_by(WorkOrder.id)
    ).all()
    if not orders:
        return counts
    sent: dict[int, set[str]] = {}
    for order_id, level in session.execute(
        select(SlaWarning.order_id, SlaWarning.level).join(WorkOrder, WorkOrder.id == SlaWarning.order_id)
        .where(WorkOrder.state.in_(OPEN_STATES))
    ):
        sent.setdefault(order_id, set()).add(level)
    mails: list[tuple[str, str, str]] = []
    for order in orders:
        counts["orders"] += 1
        clock = clock_of(order, now)
        if clock is None:
            continue
        level = due_level(clock, levels)
        if level is None or level in sent.get(order.id, set()):
            continue
        rank = min(ladder.index(level), 2)
        # A level already passed (e.g. 90 % sent, the 75 % sweep came late) is not sent.
        if any(ladder.index(s) > ladder.index(level) for s in sent.get(order.id, set())):
            continue
        users = _recipients(session, order, rank)
        warning = SlaWarning(order_id=order.id, level=level, elapsed_share=round(clock.share, 4),
                             recipients=len(users), mailed=0, sent_at=now)
        try:
            with session.begin_nested():
                session.add(warning)
                session.flush()
        except IntegrityError:
            continue  # another sweep sent this level a moment ago
        counts["warnings"] += 1
        deadline = clock.deadline.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        if level == OVERDUE:
            counts["overdue"] += 1
            title = f"工单 {order.number} 已超时（时限 {deadline}）"
            session.add(WorkOrderEvent(order_id=order.id, action="overdue", from_state=order.state,
                                       to_state=order.state, actor_name="系统",
                                       note=f"已超过处理时限 {deadline}", created_at=now,
                                       data={"share": round(clock.share, 4)}))
        else:
            title = f"工单 {order.number} 已用时 {level}%（时限 {deadline}）"
        body = f"{order.content[:200]}\n已用工作时间 {clock.percent}%，剩余 {_hours(clock.remaining)}。"
        for user_id in users:
            session.add(Notification(user_id=user_id, kind="sla", title=title[:255], body=body,
                                     link=f"/workorderview/show/{order.id}", order_id=order.id,
                                     created_at=now))
            counts["notifications"] += 1
        if users and _mail_enabled(config):
            for email in session.scalars(select(User.email).where(User.id.in_(users))):
                if email:
                    mails.append((email, title, body))
                    warning.mailed += 1
    session.flush()
    if counts["overdue"]:
        _escalate(session, now)
    if mails:
        counts["mails"] = _send_mails(mails, config)
    return counts


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
