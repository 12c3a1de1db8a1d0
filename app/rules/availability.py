"""Who can take new work now: leave periods with stand-ins, the on-duty flag, team loads and
round-robin turns.  Assignment by rules goes through here, so a person on leave or off duty
is skipped and their stand-in takes the order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.org import Position, StaffProfile, Team
from app.models.rules import RoundRobinCursor, StaffLeave
from app.models.workorder import OPEN_STATES, WorkOrder
from app.clock import LOCAL_TZ

MAX_STAND_IN_HOPS = 5


def current_leave(session: Session, staff_id: int, now: dt.datetime) -> StaffLeave | None:
    return session.scalar(
        select(StaffLeave).where(StaffLeave.staff_id == staff_id, StaffLeave.starts_at <= now,
                                 StaffLeave.ends_at > now).order_by(StaffLeave.id.desc())
    )


def is_available(session: Session, staff: StaffProfile, now: dt.datetime) -> bool:
    if not staff.on_duty:
        return False
    if staff.user is not None and not staff.user.active:
        return False
    return current_leave(session, staff.id, now) is None


@dataclass
class Availability:
    """What the dispatch screens and API show of a candidate: leave, duty and open orders."""

    staff: StaffProfile
    leave: StaffLeave | None
    on_duty: bool
    open_orders: int

    @property
    def available(self) -> bool:
        return self.leave is None and self.on_duty

    def describe(self) -> str:
        if self.leave is not None:
            until = self.leave.ends_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
            return f"on leave until {until}"
        return "off duty" if not self.on_duty else "available"


def open_order_counts(session: Session, staff_ids: list[int]) -> dict[int, int]:
    if not staff_ids:
        return {}
    return {k: int(v) for k, v in session.execute(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_(staff_ids), WorkOrder.state.in_(OPEN_STATES))
        .group_by(WorkOrder.assignee_id)).all()}


def availability_of(session: Session, staff: StaffProfile, now: dt.datetime,
                    open_orders: int | None = None) -> Availability:
    if open_orders is None:
        open_orders = open_order_counts(session, [staff.id]).get(staff.id, 0)
    active = staff.user is None or staff.user.active
    return Availability(staff, current_leave(session, staff.id, now), bool(staff.on_duty and active),
                        open_orders)


def candidates(session: Session, staff: list[StaffProfile], now: dt.datetime) -> list[Availability]:
    """Each candidate's availability, in one query for the open orders and one for leave."""
    counts = open_order_counts(session, [s.id for s in staff])
    leaves: dict[int, StaffLeave] = {}
    if staff:
        for leave in session.scalars(select(StaffLeave).where(
                StaffLeave.staff_id.in_([s.id for s in staff]), StaffLeave.starts_at <= now,
                StaffLeave.ends_at > now).order_by(StaffLeave.id)):
            leaves[leave.staff_id] = leave
    return [Availability(s, leaves.get(s.id), bool(s.on_duty and (s.user is None or s.user.active)),
                         counts.get(s.id, 0)) for s in staff]


@dataclass
class Pick:
    staff: StaffProfile | None
    note: str


def with_stand_in(session: Session, staff: StaffProfile | None, now: dt.datetime) -> Pick:
    """``staff`` if available, else their stand-in (following stand-ins of stand-ins)."""
    seen: set[int] = set()
    chain: list[str] = []
    current = staff
    for _ in range(MAX_STAND_IN_HOPS):
        if current is None or current.id in seen:
            break
        seen.add(current.id)
        if is_available(session, current, now):
            note = f"{' → '.join(chain + [current.name])}" if chain else current.name
            return Pick(current, note)
        leave = current_leave(session, current.id, now)
        chain.append(f"{current.name} ({'on leave' if leave else 'off duty'})")
        current = session.get(StaffProfile, leave.stand_in_id) if (leave and leave.stand_in_id) else None
    return Pick(None, " → ".join(chain) + " → nobody available")


def team_members(session: Session, team: Team) -> list[StaffProfile]:
    """The team's district managers, who take its orders in turn."""
    return list(session.scalars(
        select(StaffProfile).where(StaffProfile.team_id == team.id,
                                   StaffProfile.position == Position.DISTRICT_MANAGER.value)
        .order_by(StaffProfile.id)
    ))


def least_loaded(session: Session, team: Team, now: dt.datetime) -> Pick:
    members = [m for m in team_members(session, team) if is_available(session, m, now)]
    if not members:
        return Pick(None, f"{team.name}: nobody available")
    loads = dict(session.execute(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_([m.id for m in members]), WorkOrder.state.in_(OPEN_STATES))
        .group_by(WorkOrder.assignee_id)
    ).all())
    chosen = min(members, key=lambda m: (loads.get(m.id, 0), m.id))
    return Pick(chosen, f"{chosen.name} ({loads.get(chosen.id, 0)} open orders)")


def round_robin(session: Session, team: Team, now: dt.datetime, advance: bool = True) -> Pick:
    """The next available member after the one who got the team's last order.  The cursor row
    is locked while it moves, so concurrent intakes in several processes take turns too."""
    members = [m for m in team_members(session, team) if is_available(session, m, now)]
    if not members:
        return Pick(None, f"{team.name}: nobody available")
    key = f"team:{team.id}"
    cursor = session.scalar(select(RoundRobinCursor).where(RoundRobinCursor.key == key).with_for_update())
    if cursor is None and advance:
        try:
            with session.begin_nested():
                session.add(RoundRobinCursor(key=key, last_staff_id=None, turns=0))
        except IntegrityError:
            pass  # another process created it first
        cursor = session.scalar(select(RoundRobinCursor).where(RoundRobinCursor.key == key).with_for_update())
    last = cursor.last_staff_id if cursor is not None else None
    chosen = next((m for m in members if last is None or m.id > last), members[0])
    if advance and cursor is not None:
        cursor.last_staff_id = chosen.id
        cursor.turns = (cursor.turns or 0) + 1
    return Pick(chosen, f"{chosen.name} (round robin)")
