"""Milestone clocks, computed the way a utility runs them.

One order runs several clocks at once: first contact with the customer, arrival on site and
power restored (repairs), completion (the order's own ``deadline``) and the source platform's
deadline.  This module decides which clocks an order runs (``targets_for``: the
administrators' ``clock_target`` rows, else State Grid's published commitments below),
computes every deadline (``recompute_clocks``, the ONE place that does — the registration,
resume, extension and routing paths and the calendar's recompute job all call it), records
milestones (``meet``) and reads a clock's state for warnings and screens (``read_clocks``).

Deadlines count working time on the statutory calendar (``app.workflow.calendar``) except
for round-the-clock targets: an emergency repair is due 45 minutes after the call on a
Sunday night as on a Wednesday morning.  Suspended time (挂起) never counts against an
internal clock; the source platform's deadline is not ours to move, so it never pauses.
No Flask here: plain values and a session.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from sqlalchemy import and_, bindparam, exists, not_, or_, select
from sqlalchemy.orm import Session

from app.models.clocks import ANY_AREA, ClockKind, ClockTarget, ClockUnit, WorkOrderClock
from app.models.org import AreaClass, Grid
from app.models.workorder import (
    OPEN_STATES,
    DemandType,
    ExtensionRequest,
    ExtensionStatus,
    Suspension,
    WorkOrder,
)
from app import clock as app_clock
from app.workflow import calendar

K = ClockKind
U = ClockUnit
MILESTONES = (K.CONTACT.value, K.ARRIVAL.value, K.RESTORATION.value)
# Several clocks falling due at the same moment are one deadline for the people warned: the
# source platform's (an outside commitment) is named first, then the order's own.
PRECEDENCE = (K.SOURCE.value, K.COMPLETION.value, K.RESTORATION.value, K.ARRIVAL.value, K.CONTACT.value)


@dataclass(frozen=True)
class Allowance:
    amount: int
    unit: str
    round_the_clock: bool = False

    @property
    def duration(self) -> dt.timedelta:
        if self.unit == U.MINUTES.value:
            return dt.timedelta(minutes=self.amount)
        if self.unit == U.HOURS.value:
            return dt.timedelta(hours=self.amount)
        return dt.timedelta(days=self.amount)  # a working day counts whole on the calendar


@dataclass(frozen=True)
class DefaultTarget:
    demand_type: str
    kind: str
    area_class: str
    allowance: Allowance


def _d(demand: DemandType, kind: ClockKind, amount: int, unit: ClockUnit,
       area: str = ANY_AREA, round_the_clock: bool = False) -> DefaultTarget:
    return DefaultTarget(demand.value, kind.value, area, Allowance(amount, unit.value, round_the_clock))


# State Grid's published service commitments (国家电网供电服务“十项承诺”), where they speak:
# complaints are contacted within 1 working day and replied to within 7; repairs reach the
# site within 45 / 90 / 120 minutes (urban / rural / remote) and restore power within 3 h
# (urban) or 4 h (rural), counted round the clock.  The rest are the station's own choices:
# every demand a customer waits to hear back on is contacted within a working day; a service
# request (上门服务) is answered by the visit itself within its completion limit, and praise
# needs no answer by a deadline.  Completion not listed: the DEFAULT_DEADLINE_WORKING_DAYS policy.
D = DemandType
DEFAULT_TARGETS: tuple[DefaultTarget, ...] = (
    _d(D.COMPLAINT, K.CONTACT, 1, U.WORKING_DAYS),
    _d(D.COMPLAINT, K.COMPLETION, 7, U.WORKING_DAYS),
    _d(D.CONSULTATION, K.CONTACT, 1, U.WORKING_DAYS),
    _d(D.REPORT, K.CONTACT, 1, U.WORKING_DAYS),
    _d(D.OPINION, K.CONTACT, 1, U.WORKING_DAYS),
    _d(D.SUGGESTION, K.CONTACT, 1, U.WORKING_DAYS),
    _d(D.URGENT, K.ARRIVAL, 45, U.MINUTES, AreaClass.URBAN.value, True),
    _d(D.URGENT, K.ARRIVAL, 90, U.MINUTES, AreaClass.RURAL.value, True),
    _d(D.URGENT, K.ARRIVAL, 120, U.MINUTES, AreaClass.REMOTE.value, True),
    _d(D.URGENT, K.RESTORATION, 3, U.HOURS, AreaClass.URBAN.value, True),
    _d(D.URGENT, K.RESTORATION, 4, U.HOURS, AreaClass.RURAL.value, True),
    # Remote areas have no published figure.  5 h: the remote arrival limit (2 h) plus the
    # on-site time the rural commitment leaves after its own arrival limit (4 h − 1.5 h),
    # rounded up to a whole hour — never stricter than the rural 4 h.
    _d(D.URGENT, K.RESTORATION, 5, U.HOURS, AreaClass.REMOTE.value, True),
)


def targets_for(session: Session, demand_type: str, area_class: str | None) -> dict[str, Allowance]:
    """The configurable clocks (contact, arrival, restoration, completion) this demand type
    runs in a grid of this area class, and their allowances.

    The administrators' rows decide; a clock with no row of its own (for the area class or
    ``any``) keeps the default above.  An inactive row switches the clock off."""
    area = area_class or AreaClass.URBAN.value
    rows = _target_rows(session, demand_type)
    chosen: dict[str, Allowance | None] = {}
    for default in DEFAULT_TARGETS:
        if default.demand_type == demand_type and default.area_class in (area, ANY_AREA):
            chosen[default.kind] = default.allowance
    for row in sorted(rows, key=lambda r: r.area_class != ANY_AREA):  # the area's own row last: it wins
        if row.kind == K.SOURCE.value or row.area_class not in (area, ANY_AREA):
            continue
        chosen[row.kind] = Allowance(row.amount, row.unit, bool(row.round_the_clock)) if row.active else None
    return {kind: allowance for kind, allowance in chosen.items() if allowance is not None}


# The administrators' rows of each demand type, kept in the process for
# ``CLOCK_TARGETS_CACHE_SECONDS`` (``configure``; 1 s by default, 0 reads them at every
# registration): a burst of registrations reads them once.  A change saved in this process
# (the clock targets screen) drops the cache at once; one saved in another process (another
# gunicorn worker) is seen here at most that many seconds later.
_cache_seconds = 1.0
_targets_cache: dict[str, tuple[dt.datetime, tuple[Any, ...]]] = {}
_targets_lock = threading.Lock()
# The columns ``targets_for`` reads (plain rows: no objects to load for a registration).
_TARGETS = select(ClockTarget.kind, ClockTarget.area_class, ClockTarget.amount, ClockTarget.unit,
                  ClockTarget.round_the_clock, ClockTarget.active).where(
    ClockTarget.demand_type == bindparam("demand_type"))


def configure(config: Any) -> None:
    global _cache_seconds
    _cache_seconds = float(config.get("CLOCK_TARGETS_CACHE_SECONDS", 1) or 0)
    forget_targets()


def forget_targets() -> None:
    """Drop this process's copy of the clock targets (after a change, or a test's cleaning)."""
    with _targets_lock:
        _targets_cache.clear()


def _target_rows(session: Session, demand_type: str) -> tuple[Any, ...]:
    now = app_clock.now()
    cached = _targets_cache.get(demand_type) if _cache_seconds > 0 else None
    if cached is not None and dt.timedelta(0) <= now - cached[0] < dt.timedelta(seconds=_cache_seconds):
        return cached[1]
    rows = tuple(session.execute(_TARGETS, {"demand_type": demand_type}).all())
    if _cache_seconds > 0:
        with _targets_lock:
            _targets_cache[demand_type] = (now, rows)
    return rows


def completion_allowance(order: WorkOrder) -> Allowance | None:
    """The completion clock's allowance, as registration or the routing rules set it."""
    if order.deadline_hours is not None:
        return Allowance(int(order.deadline_hours), U.HOURS.value)
    if order.deadline_working_days is not None:
        return Allowance(int(order.deadline_working_days), U.WORKING_DAYS.value)
    return None


def set_completion_allowance(order: WorkOrder, allowance: Allowance) -> None:
    """Write a completion allowance into the order's own columns (working days or hours)."""
    if allowance.unit == U.WORKING_DAYS.value:
        order.deadline_working_days, order.deadline_hours = allowance.amount, None
    else:
        hours = allowance.amount if allowance.unit == U.HOURS.value else -(-allowance.amount // 60)
        order.deadline_working_days, order.deadline_hours = None, hours


def area_class_of(session: Session, order: WorkOrder) -> str:
    grid = session.get(Grid, order.grid_id) if order.grid_id else None
    return (grid.area_class if grid is not None else None) or AreaClass.URBAN.value


# --- the one computation -------------------------------------------------------------------
def _pauses(session: Session, order: WorkOrder) -> list[tuple[dt.datetime, dt.datetime | None]]:
    if order.id is None:
        return []
    return [(s.started_at, s.ended_at) for s in session.scalars(
        select(Suspension).where(Suspension.order_id == order.id).order_by(Suspension.started_at))]


def _extension_days(session: Session, order: WorkOrder) -> int:
    if order.id is None:
        return 0
    return sum(days or 0 for days in session.scalars(select(ExtensionRequest.approved_days).where(
        ExtensionRequest.order_id == order.id, ExtensionRequest.status == ExtensionStatus.APPROVED.value)))


def _span(start: dt.datetime, end: dt.datetime, round_the_clock: bool) -> dt.timedelta:
    if round_the_clock:
        return max(end - start, dt.timedelta(0))
    return calendar.working_time_between(start, end)


def _paused_within(pauses: Iterable[tuple[dt.datetime, dt.datetime | None]], start: dt.datetime,
                   end: dt.datetime, round_the_clock: bool) -> dt.timedelta:
    """Suspended time inside [start, end), counted the clock's way (an open suspension runs
    to ``end``)."""
    total = dt.timedelta(0)
    for began, ended in pauses:
        lo, hi = max(began, start), min(ended or end, end)
        if hi > lo:
            total += _span(lo, hi, round_the_clock)
    return total


def _clock(order: WorkOrder, kind: str) -> WorkOrderClock | None:
    return next((c for c in order.clocks if c.kind == kind), None)


def _ensure(order: WorkOrder, kind: str) -> WorkOrderClock:
    clock = _clock(order, kind)
    if clock is None:
        clock = WorkOrderClock(kind=kind)
        order.clocks.append(clock)
    return clock


def recompute_clocks(session: Session, order: WorkOrder, *, retarget: bool = False,
                     targets: dict[str, Allowance] | None = None) -> list[WorkOrderClock]:
    """(Re)compute every clock deadline of ``order`` from its received time, demand type, its
    grid's area class, its suspensions, approved extensions and the source deadline.

    Clocks the order lacks are created from the targets; existing clocks keep the allowance
    they were given at registration unless ``retarget`` (e.g. after a change of demand type
    or grid).  Every deadline is computed from scratch through ``app.workflow.calendar``, so
    calling this again after the calendar data changed (a provisional year completed) moves
    the deadlines to the corrected calendar.  A suspension still running does not move a
    deadline yet; resuming it does.  Sets ``order.deadline`` (completion, never later than the
    source deadline) and the timely flags of milestones already met.  The caller commits
    (and flushes first what it wants counted: a suspension just ended, an extension just
    approved — this function does not autoflush, so a transition updates its order once).
    ``targets``: the caller's ``targets_for`` of this order, if it has read them already."""
    with session.no_autoflush:
        return _recompute(session, order, retarget, targets)


def _recompute(session: Session, order: WorkOrder, retarget: bool,
               targets: dict[str, Allowance] | None = None) -> list[WorkOrderClock]:
    if not order.clocks or retarget:
        wanted = targets if targets is not None else targets_for(
            session, order.demand_type, area_class_of(session, order))
        if K.COMPLETION.value in wanted and (retarget or completion_allowance(order) is None):
            set_completion_allowance(order, wanted[K.COMPLETION.value])
        for kind in MILESTONES:
            clock = _clock(order, kind)
            if kind in wanted:
                clock = clock or _ensure(order, kind)
                allowance = wanted[kind]
                clock.amount, clock.unit = allowance.amount, allowance.unit
                clock.round_the_clock = allowance.round_the_clock
            elif clock is not None and clock.met_at is None:
                order.clocks.remove(clock)

    received = order.received_at
    pauses = [(a, b) for a, b in _pauses(session, order) if b is not None]
    completion = completion_allowance(order)
    if completion is not None:
        clock = _ensure(order, K.COMPLETION.value)
        clock.amount, clock.unit, clock.round_the_clock = completion.amount, completion.unit, False
    elif (stale := _clock(order, K.COMPLETION.value)) is not None:
        order.clocks.remove(stale)
    if order.source_deadline is not None:
        _ensure(order, K.SOURCE.value).deadline = order.source_deadline
    elif (stale := _clock(order, K.SOURCE.value)) is not None and stale.met_at is None:
        order.clocks.remove(stale)

    extension = dt.timedelta(days=_extension_days(session, order))
    for clock in order.clocks:
        if clock.kind == K.SOURCE.value or clock.amount is None or clock.unit is None:
            continue
        allowance = Allowance(clock.amount, clock.unit, bool(clock.round_the_clock))
        amount = allowance.duration + (extension if clock.kind == K.COMPLETION.value else dt.timedelta(0))
        # Suspensions that began before the milestone was met stopped this clock.
        mine = [(a, b) for a, b in pauses if clock.met_at is None or a < clock.met_at]
        if allowance.round_the_clock:
            clock.deadline = received + amount + sum((b - a for a, b in mine), dt.timedelta(0))
        else:
            paused = sum((calendar.working_time_between(a, b) for a, b in mine), dt.timedelta(0))
            clock.deadline = calendar.add_working_time(received, amount + paused)
        if clock.kind == K.COMPLETION.value and order.source_deadline is not None:
            # The source platform will not wait: our own limit is never later than its.
            clock.deadline = min(clock.deadline, order.source_deadline)
    for clock in order.clocks:
        if clock.met_at is not None and clock.deadline is not None:
            clock.timely = clock.met_at <= clock.deadline
    due = _clock(order, K.COMPLETION.value) or _clock(order, K.SOURCE.value)
    order.deadline = due.deadline if due is not None else None
    return sorted(order.clocks, key=_sort_key)


# --- milestones ----------------------------------------------------------------------------
def meet(order: WorkOrder, kinds: Sequence[str], at: dt.datetime) -> list[str]:
    """Record that the milestones of ``kinds`` were met at ``at`` (those not met before);
    returns the kinds this call closed."""
    closed = []
    for clock in order.clocks:
        if clock.kind in kinds and clock.met_at is None:
            clock.met_at = at
            clock.timely = clock.deadline is None or at <= clock.deadline
            closed.append(clock.kind)
    return closed


def reopen(order: WorkOrder, kinds: Sequence[str] | None = None, *, met_at: dt.datetime | None = None) -> None:
    """Set clocks running again: those of ``kinds``, or those closed at ``met_at``."""
    for clock in order.clocks:
        if (kinds is not None and clock.kind in kinds) or (met_at is not None and clock.met_at == met_at):
            clock.met_at = None
            clock.timely = None


def order_timely(order: WorkOrder) -> bool:
    """An order is timely when it met every one of its clocks."""
    return all(clock.timely is not False for clock in order.clocks)


# --- reading a clock -----------------------------------------------------------------------
@dataclass
class ClockReading:
    kind: str
    deadline: dt.datetime
    allowed: dt.timedelta
    elapsed: dt.timedelta
    share: float
    overdue: bool
    running: bool
    met_at: dt.datetime | None = None
    timely: bool | None = None
    round_the_clock: bool = False

    @property
    def percent(self) -> int:
        return int(round(self.share * 100))

    @property
    def remaining(self) -> dt.timedelta:
        return max(dt.timedelta(0), self.allowed - self.elapsed)

    @property
    def is_open(self) -> bool:
        return self.met_at is None


def _sort_key(clock: WorkOrderClock | ClockReading) -> tuple[dt.datetime, int]:
    far = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
    return (clock.deadline or far, PRECEDENCE.index(clock.kind) if clock.kind in PRECEDENCE else 99)


def read_clock(order: WorkOrder, clock: WorkOrderClock, now: dt.datetime,
               pauses: list[tuple[dt.datetime, dt.datetime | None]]) -> ClockReading | None:
    """How far the clock has run: the time allowed and used, both without suspended time
    (except on the source platform's clock, which does not pause), and the share used."""
    if clock.deadline is None or order.received_at is None:
        return None
    is_open = order.state in OPEN_STATES
    end = clock.met_at or (order.suspended_at if order.suspended and order.suspended_at else None)
    if end is None:
        end = now if is_open else (order.resolved_at or now)
    rtc = bool(clock.round_the_clock)
    mine = [] if clock.kind == K.SOURCE.value else pauses
    allowed = _span(order.received_at, clock.deadline, rtc) - _paused_within(mine, order.received_at, clock.deadline, rtc)
    elapsed = _span(order.received_at, end, rtc) - _paused_within(mine, order.received_at, end, rtc)
    if allowed.total_seconds() > 0:
        share = elapsed / allowed
    else:
        share = 1.0 if end >= clock.deadline else 0.0
    return ClockReading(kind=clock.kind, deadline=clock.deadline, allowed=allowed, elapsed=elapsed,
                        share=share, overdue=end > clock.deadline,
                        running=is_open and not order.suspended and clock.met_at is None,
                        met_at=clock.met_at, timely=clock.timely, round_the_clock=rtc)


def read_clocks(session: Session, order: WorkOrder, now: dt.datetime,
                pauses: list[tuple[dt.datetime, dt.datetime | None]] | None = None) -> list[ClockReading]:
    """Every clock of the order, earliest deadline first."""
    if pauses is None:
        pauses = _pauses(session, order)
    readings = [r for c in order.clocks if (r := read_clock(order, c, now, pauses)) is not None]
    return sorted(readings, key=_sort_key)


def watched(readings: Sequence[ClockReading]) -> list[ClockReading]:
    """The open clocks to warn about: of clocks due at the same moment, only the first by
    ``PRECEDENCE`` (an order clamped to its source deadline is warned once, against it)."""
    seen: set[dt.datetime] = set()
    out = []
    for reading in sorted(readings, key=_sort_key):
        if not reading.is_open or reading.deadline in seen:
            continue
        seen.add(reading.deadline)
        out.append(reading)
    return out


def nearest_open(session: Session, order: WorkOrder, now: dt.datetime) -> ClockReading | None:
    """The open clock falling due first (what the list and the detail page show)."""
    open_ = watched(read_clocks(session, order, now))
    return open_[0] if open_ else None


def time_left(deadline: dt.datetime, now: dt.datetime, round_the_clock: bool) -> dt.timedelta:
    """Time until ``deadline`` counted the clock's way; negative once it has passed."""
    if now <= deadline:
        return _span(now, deadline, round_the_clock)
    return -_span(deadline, now, round_the_clock)


def nearest_open_by_order(session: Session, order_ids: Sequence[int]) -> dict[int, tuple[WorkOrderClock, bool]]:
    """For a page of orders, each one's open clock falling due first and whether the order
    is suspended (its clocks stand still), in one query."""
    found: dict[int, tuple[WorkOrderClock, bool]] = {}
    if not order_ids:
        return found
    rows = session.execute(select(WorkOrderClock, WorkOrder.suspended).join(
        WorkOrder, WorkOrder.id == WorkOrderClock.order_id).where(
        WorkOrderClock.order_id.in_(list(order_ids)), WorkOrderClock.met_at.is_(None),
        WorkOrderClock.deadline.is_not(None))).all()
    for clock, suspended in sorted(rows, key=lambda row: _sort_key(row[0])):
        found.setdefault(clock.order_id, (clock, bool(suspended)))
    return found


# --- overdue and due soon, as SQL (the list's 超期 / 即将超期 buttons, the dashboard) ----------
DUE_SOON_WORKING = dt.timedelta(days=1)  # a working-time clock due within the next working day
DUE_SOON_ROUND_THE_CLOCK = dt.timedelta(minutes=30)  # a repair clock due within half an hour


def _open_clock(kind: str | None) -> list[Any]:
    C = WorkOrderClock
    where = [C.order_id == WorkOrder.id, C.met_at.is_(None), C.deadline.is_not(None)]
    if kind:
        where.append(C.kind == kind)
    return where


def overdue_clause(now: dt.datetime, kind: str | None = None) -> Any:
    """Open orders whose clock is running (not suspended) and past a deadline: any open clock
    of theirs (or the one of ``kind``) fell due before ``now``.  The same clause counts the
    dashboard's 当前超期 and lists the order list's 超期 button."""
    C = WorkOrderClock
    late = exists().where(*_open_clock(kind), C.deadline < now)
    if kind is None:  # an order without clock rows still has its own deadline
        late = or_(late, WorkOrder.deadline < now)
    return and_(WorkOrder.state.in_(OPEN_STATES), WorkOrder.suspended.is_(False), late)


def due_soon_clause(now: dt.datetime, kind: str | None = None) -> Any:
    """Open, running orders not overdue yet with an open clock falling due soon: within the
    next working day for clocks counted in working time, within half an hour for round-the-clock
    (repair) clocks."""
    C = WorkOrderClock
    horizon = calendar.add_working_time(now, DUE_SOON_WORKING)
    soon = exists().where(*_open_clock(kind), C.deadline >= now, or_(
        and_(C.round_the_clock.is_(True), C.deadline < now + DUE_SOON_ROUND_THE_CLOCK),
        and_(or_(C.round_the_clock.is_(False), C.round_the_clock.is_(None)), C.deadline < horizon)))
    return and_(WorkOrder.state.in_(OPEN_STATES), WorkOrder.suspended.is_(False), soon,
                not_(overdue_clause(now, kind)))
