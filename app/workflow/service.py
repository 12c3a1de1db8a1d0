"""The work-order state machine: every transition in one place.

registered → dispatched → accepted → resolved → verified → evaluated, with return (退单),
reject, urge (催办), supervise (督办), reopen, suspend/resume (挂起), deadline extension (延期),
return visits (回访, an unsatisfied one sends the order back for redo 重办) and the
milestones the district manager records on the way: first contact and arrival on site (the
order's clocks, ``app/workflow/clocks.py``).

Each call checks role, row scope, state and the caller's version, changes the order,
writes one timeline event and runs the registered hooks (work points, channel feedback…)
in the same transaction.  The caller commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.models.customer import Customer
from app.models.org import Grid, StaffProfile
from app.models.workorder import (
    OPEN_STATES,
    CallbackQuestion,
    Channel,
    DemandType,
    ExtensionRequest,
    ExtensionStatus,
    OrderState,
    Priority,
    QuestionKind,
    ReturnVisit,
    SupervisionLevel,
    Suspension,
    WorkOrder,
    WorkOrderEvent,
)
from app.models.base import utcnow
from app.workflow import calendar, clocks, insertion
from app.workflow.actor import ADMIN, DISTRICT_MANAGER, LEADERS, OPERATOR, SYSTEM, Actor
from app.workflow.errors import (
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NeedsConfirmation,
    NotFound,
    OutOfScope,
    StaleVersion,
)
from app.workflow.numbering import next_order_number

S = OrderState
SUPERVISION_LADDER = [lvl.value for lvl in SupervisionLevel]


@dataclass
class Policy:
    default_deadline_working_days: int = 3
    reopen_window_days: int = 7
    # A return visit is taken from resolution until this many days after evaluation.
    return_visit_window_days: int = 7
    # Demand types whose orders are evaluated only after their return visit.
    visit_required_types: frozenset[str] = frozenset()


@dataclass
class RoutingDecision:
    """What the routing rules decided for a new order (see app/rules)."""

    assignee_id: int | None = None
    team_id: int | None = None
    priority: str | None = None
    deadline_working_days: int | None = None
    deadline_hours: float | None = None
    sensitive: bool = False
    escalate: bool = False
    fired_rules: list[str] = field(default_factory=list)
    # Run once the order is inserted (the routing records which rules fired, by order id).
    after_insert: Callable[[Session, WorkOrder], None] | None = None


_default_policy = Policy()


def configure(config: Any) -> None:
    """Take the work-order policy from the application's settings."""
    global _default_policy
    _default_policy = Policy(
        default_deadline_working_days=int(config.get("DEFAULT_DEADLINE_WORKING_DAYS", 3)),
        reopen_window_days=int(config.get("REOPEN_WINDOW_DAYS", 7)),
        return_visit_window_days=int(config.get("RETURN_VISIT_WINDOW_DAYS", 7)),
        visit_required_types=_codes(config.get("RETURN_VISIT_REQUIRED_DEMAND_TYPES", "")),
    )


def _codes(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(str(part).strip() for part in value or () if str(part).strip())


Router = Callable[[Session, WorkOrder, dt.datetime], RoutingDecision | None]
Hook = Callable[[Session, WorkOrder, str, Actor, dict[str, Any]], None]

_router: Router | None = None
_hooks: list[Hook] = []


def set_router(router: Router | None) -> None:
    """Install the routing function called for every new order (the rules engine)."""
    global _router
    _router = router


def add_hook(hook: Hook) -> None:
    """Run ``hook(session, order, action, actor, params)`` after every transition."""
    if hook not in _hooks:
        _hooks.append(hook)


# --- who may do what, from which state ---------------------------------------------------
ASSIGNEE = "assignee"
_TRANSITIONS: dict[str, tuple[tuple[str, ...], frozenset[str] | str]] = {
    "dispatch": ((S.REGISTERED.value, S.DISPATCHED.value), LEADERS),
    "accept": ((S.DISPATCHED.value,), ASSIGNEE),
    "return": ((S.DISPATCHED.value,), ASSIGNEE),
    "resolve": ((S.ACCEPTED.value,), ASSIGNEE),
    "reject": ((S.RESOLVED.value,), LEADERS),
    "verify": ((S.RESOLVED.value,), LEADERS),
    "evaluate": ((S.VERIFIED.value,), LEADERS),
    "urge": (OPEN_STATES, LEADERS),
    "supervise": (OPEN_STATES + (S.RESOLVED.value,), LEADERS),
    "reopen": ((S.EVALUATED.value,), LEADERS),
    "suspend": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS | {ASSIGNEE}),
    "resume": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS | {ASSIGNEE}),
    "extend": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS | {ASSIGNEE}),
    "approve_extension": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS),
    "refuse_extension": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS),
    # From resolution until RETURN_VISIT_WINDOW_DAYS after evaluation (state_allows).
    "callback": ((S.RESOLVED.value, S.VERIFIED.value, S.EVALUATED.value), LEADERS | {OPERATOR}),
    # Milestones: offered while the order runs that clock and has not met it yet.
    "contact": ((S.REGISTERED.value, S.DISPATCHED.value, S.ACCEPTED.value), LEADERS | {ASSIGNEE}),
    "arrive": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS | {ASSIGNEE}),
    # The team leader hands a dispatched or accepted order to another district manager (转派);
    # changes what the order says or how urgent it is (the generic edit is gone); and voids an
    # order with a reason (作废): no one deletes an order.
    "transfer": ((S.DISPATCHED.value, S.ACCEPTED.value), LEADERS),
    "amend": (OPEN_STATES, LEADERS),
    "void": (OPEN_STATES, LEADERS),
}
_MILESTONE_OF = {"contact": clocks.K.CONTACT.value, "arrive": clocks.K.ARRIVAL.value}
ACTIONS = tuple(_TRANSITIONS)
# Actions that still make sense while the clock is stopped.
_ALLOWED_WHILE_SUSPENDED = {"resume", "urge", "supervise", "transfer", "amend", "void"}

ACTION_LABELS = {
    "register": "Register",
    "dispatch": "Dispatch",
    "accept": "Accept",
    "return": "Return",
    "resolve": "Resolve",
    "reject": "Reject",
    "verify": "Verify",
    "evaluate": "Evaluate",
    "urge": "Urge",
    "supervise": "Supervise",
    "reopen": "Reopen",
    "suspend": "Suspend",
    "resume": "Resume",
    "extend": "Request extension",
    "approve_extension": "Approve extension",
    "refuse_extension": "Refuse extension",
    "callback": "Return visit",
    "redo": "Redo",
    "contact": "Record contact",
    "arrive": "Record arrival",
    "transfer": "Transfer",
    "amend": "Change content or priority",
    "void": "Void",
    "overdue": "Overdue",
}


def _is_assignee(actor: Actor, order: WorkOrder) -> bool:
    return actor.staff_id is not None and order.assignee_id == actor.staff_id


def role_allows(actor: Actor, order: WorkOrder, action: str) -> bool:
    _, who = _TRANSITIONS[action]
    if actor.is_admin:
        return True
    if who == ASSIGNEE:
        return _is_assignee(actor, order)
    assert isinstance(who, frozenset)
    if ASSIGNEE in who and _is_assignee(actor, order):
        return True
    return actor.has_any(who - {ASSIGNEE})


def state_allows(order: WorkOrder, action: str, session: Session | None = None, *,
                 policy: Policy | None = None, now: dt.datetime | None = None) -> bool:
    states, _ = _TRANSITIONS[action]
    if order.state not in states:
        return False
    policy = policy or _default_policy
    if action == "callback" and order.state == S.EVALUATED.value:
        return visit_window_open(order, policy, now or utcnow())
    if action == "evaluate" and session is not None and visit_missing(session, order, policy):
        return False
    if order.suspended and action not in _ALLOWED_WHILE_SUSPENDED:
        return False
    if action == "suspend" and order.suspended:
        return False
    if action == "resume" and not order.suspended:
        return False
    if action == "supervise" and order.supervision_level == SUPERVISION_LADDER[-1]:
        return False
    if action in _MILESTONE_OF:
        kind = _MILESTONE_OF[action]
        return any(c.kind == kind and c.met_at is None for c in order.clocks)
    if action in ("approve_extension", "refuse_extension", "extend") and session is not None:
        pending = _pending_extension(session, order)
        return (pending is None) if action == "extend" else (pending is not None)
    return True


def visit_window_open(order: WorkOrder, policy: Policy | None = None, now: dt.datetime | None = None) -> bool:
    """Whether an evaluated order still takes its return visit."""
    policy = policy or _default_policy
    if order.evaluated_at is None:
        return True
    return (now or utcnow()) - order.evaluated_at <= dt.timedelta(days=policy.return_visit_window_days)


def visit_missing(session: Session, order: WorkOrder, policy: Policy | None = None) -> bool:
    """The order's demand type needs its return visit before evaluation, and none was made
    since the order was (last) resolved."""
    policy = policy or _default_policy
    if order.demand_type not in policy.visit_required_types:
        return False
    query = select(ReturnVisit.id).where(ReturnVisit.order_id == order.id)
    if order.resolved_at is not None:
        query = query.where(ReturnVisit.visited_at >= order.resolved_at)
    return session.scalar(query.limit(1)) is None


def available_actions(session: Session, actor: Actor, order: WorkOrder) -> list[str]:
    """The actions the screens offer as buttons for this actor and this order."""
    if not actor.can_see_order(order):
        return []
    # The role first: it costs nothing, where the state of some actions is a query.
    return [
        a for a in ACTIONS if role_allows(actor, order, a) and state_allows(order, a, session)
    ]


def candidates_for(session: Session, actor: Actor, order: WorkOrder, now: dt.datetime | None = None) -> list[Any]:
    """Whom the actor may dispatch or transfer the order to, each with their availability
    (leave, duty, open orders): the district managers and team leaders of the order's station,
    of the actor's team for a team leader."""
    from app.models.org import Position
    from app.rules.availability import candidates

    query = select(StaffProfile).where(
        StaffProfile.station_id == order.station_id,
        StaffProfile.position.in_([Position.DISTRICT_MANAGER.value, Position.TEAM_LEADER.value]))
    if actor.scope_level() == "team":
        query = query.where(StaffProfile.team_id == actor.team_id)
    staff = list(session.scalars(query.options(selectinload(StaffProfile.user))
                                 .order_by(StaffProfile.position, StaffProfile.name)))
    return candidates(session, staff, now or utcnow())


# --- registration ------------------------------------------------------------------------
def register_order(
    session: Session,
    actor: Actor,
    *,
    channel: str,
    demand_type: str,
    content: str,
    contact_name: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    customer_no: str | None = None,
    grid_id: int | None = None,
    priority: str | None = None,
    external_id: str | None = None,
    payload_hash: str | None = None,
    received_at: dt.datetime | None = None,
    source_deadline: dt.datetime | None = None,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
    route: bool = True,
    extra: dict[str, Any] | None = None,
) -> WorkOrder:
    """Register a demand as a new order; the routing rules may dispatch it at once."""
    now = now or utcnow()
    policy = policy or _default_policy
    try:
        Channel(channel)
    except ValueError:
        raise InvalidInput(f"unknown channel: {channel}", field="channel") from None
    try:
        DemandType(demand_type)
    except ValueError:
        raise InvalidInput(f"unknown demand type: {demand_type}", field="demand_type") from None
    if priority is not None:
        try:
            Priority(priority)
        except ValueError:
            raise InvalidInput(f"unknown priority: {priority}", field="priority") from None
    if not content or not content.strip():
        raise InvalidInput("content is required", field="content")

    customer = None
    if customer_no:
        customer = session.scalar(select(Customer).where(Customer.customer_no == customer_no))
    grid = None
    if grid_id is not None:
        grid = session.get(Grid, grid_id)
        if grid is None:
            raise InvalidInput(f"unknown grid: {grid_id}", field="grid_id")
    elif customer is not None:
        grid = customer.grid
    if grid is not None and not actor.can_see_grid(grid.id, grid.station_id):
        raise OutOfScope("the grid is outside your scope")

    received_at = received_at or now
    targets = clocks.targets_for(session, demand_type,
                                 grid.area_class if grid is not None else None)
    order = WorkOrder(
        number=next_order_number(session, now),
        channel=channel,
        demand_type=demand_type,
        content=content.strip(),
        contact_name=contact_name or (customer.name if customer else None),
        phone=phone or (customer.phone if customer else None),
        address=address or (customer.address if customer else None),
        customer=customer,
        customer_no=customer_no,
        grid_id=grid.id if grid else None,
        team_id=grid.team_id if grid else None,
        station_id=grid.station_id if grid else actor.station_id,
        priority=priority or Priority.NORMAL.value,
        state=S.REGISTERED.value,
        external_id=external_id,
        payload_hash=payload_hash,
        received_at=received_at,
        registered_at=now,
        updated_at=now,
        source_deadline=source_deadline,
        created_by_id=actor.user_id,
        deadline_working_days=policy.default_deadline_working_days,
    )
    for key, value in (extra or {}).items():
        setattr(order, key, value)
    if clocks.K.COMPLETION.value in targets:
        clocks.set_completion_allowance(order, targets[clocks.K.COMPLETION.value])
    # before the insert: one row, with its deadlines
    clocks.recompute_clocks(session, order, targets=targets)
    # The routing rules decide before the insert too, so that the order is written once as
    # routed (no second UPDATE, no second audit entry); what needs its id comes after.
    decision = None
    if route and _router:
        with session.no_autoflush:
            decision = _router(session, order, now)
    dispatched_to = _apply_routing(session, order, decision, now) if decision is not None else None
    insertion.insert_order(session, order)  # as session.add + flush would, without the unit of work
    # The timeline's first events go straight in (one Core insert, no unit of work): the
    # hooks below add theirs through the session, flushed after these.
    events = [_event_row(order, actor, "register", None, S.REGISTERED.value, None, now)]
    if decision is not None:
        events += _record_routing(session, order, decision, dispatched_to, now)
    session.connection().execute(_INSERT_EVENTS, events)
    for hook in list(_hooks):
        hook(session, order, "register", actor, {})
    return order


def _apply_routing(session: Session, order: WorkOrder, decision: RoutingDecision,
                   now: dt.datetime) -> StaffProfile | None:
    """Apply the routing decision to the order not yet inserted; the person it was
    dispatched to, if any (its timeline events follow the insert: ``_record_routing``)."""
    if decision.priority:
        order.priority = decision.priority
    if decision.sensitive:
        order.sensitive = True
    # A routing rule's time limit is the most specific: it replaces the completion target.
    if decision.deadline_hours is not None:
        order.deadline_hours = int(decision.deadline_hours)
        order.deadline_working_days = None
        clocks.recompute_clocks(session, order)
    elif decision.deadline_working_days is not None:
        order.deadline_working_days = decision.deadline_working_days
        order.deadline_hours = None
        clocks.recompute_clocks(session, order)
    if decision.team_id and not order.team_id:
        order.team_id = decision.team_id
    # (not inserted yet: the column's default, no supervision, is still None)
    if decision.escalate and order.supervision_level in (None, SupervisionLevel.NONE.value):
        order.supervision_level = SupervisionLevel.STATION.value
    if decision.assignee_id:
        assignee = session.get(StaffProfile, decision.assignee_id)
        if assignee is not None:
            order.assignee_id = assignee.id
            order.state = S.DISPATCHED.value
            order.dispatched_at = now
            return assignee
    return None


def _record_routing(session: Session, order: WorkOrder, decision: RoutingDecision,
                    assignee: StaffProfile | None, now: dt.datetime) -> list[dict[str, Any]]:
    """After the insert: the rules' firings; and the dispatch (or routing) event, returned
    as a row for the caller to insert with the registration's."""
    if decision.after_insert is not None:
        decision.after_insert(session, order)
    note = ", ".join(decision.fired_rules) or None
    if assignee is not None:
        return [_event_row(order, SYSTEM, "dispatch", S.REGISTERED.value, S.DISPATCHED.value,
                           note, now, {"assignee": assignee.name, "rules": decision.fired_rules})]
    if note:
        return [_event_row(order, SYSTEM, "route", order.state, order.state, note, now,
                           {"rules": decision.fired_rules})]
    return []


# --- transitions -------------------------------------------------------------------------
def load_order(session: Session, actor: Actor, order_id: int) -> WorkOrder:
    # The clocks come with the order: loading them later, mid-transition, would autoflush
    # the half-changed order and count its version twice.
    order = session.get(WorkOrder, order_id, options=[selectinload(WorkOrder.clocks)])
    if order is not None and "clocks" not in order.__dict__:
        _ = order.clocks  # already in the identity map without them
    return check_visible(actor, order, order_id)


def check_visible(actor: Actor, order: Any, order_id: int) -> Any:
    """``order`` (the order ``order_id`` or a read of its columns, None when there is none)
    if the actor's scope holds it."""
    if order is None or not actor.can_see_order(order):
        # Out-of-scope orders are reported as forbidden, never described.
        if order is None:
            raise NotFound(f"work order {order_id} not found")
        raise OutOfScope("this work order is outside your scope")
    return order


def perform(
    session: Session,
    actor: Actor,
    order_id: int,
    action: str,
    params: dict[str, Any] | None = None,
    *,
    version: int | None = None,
    policy: Policy | None = None,
    now: dt.datetime | None = None,
) -> WorkOrder:
    """Apply ``action`` to the order; raises a DomainError and changes nothing when refused."""
    params = dict(params or {})
    policy = policy or _default_policy
    now = now or utcnow()
    if action not in _TRANSITIONS:
        raise InvalidInput(f"unknown action: {action}", field="action")
    order = load_order(session, actor, order_id)
    if not role_allows(actor, order, action):
        raise Forbidden(f"your role may not {action} this work order")
    if version is not None and int(version) != order.version:
        raise StaleVersion(
            f"the order has changed since you loaded it (your version {version}, "
            f"current {order.version}); reload and try again"
        )
    if not state_allows(order, action, session, policy=policy, now=now):
        if order.suspended and action not in _ALLOWED_WHILE_SUSPENDED:
            raise IllegalTransition(f"cannot {action}: the order is suspended; resume it first")
        if action == "evaluate" and order.state == S.VERIFIED.value:
            raise IllegalTransition("cannot evaluate before the return visit: "
                                    "this demand type needs its return visit first")
        if action == "callback" and order.state == S.EVALUATED.value:
            raise IllegalTransition(f"cannot record the return visit: more than "
                                    f"{policy.return_visit_window_days} days since the evaluation")
        raise IllegalTransition(f"cannot {action} an order that is {order.state}")

    handler = _HANDLERS[action]
    from_state = order.state
    result = handler(session, actor, order, params, policy, now)
    order = result or order
    order.updated_at = now
    session.flush()
    for hook in list(_hooks):
        hook(session, order, action, actor, params)
    _ = from_state
    return order


def _event(
    session: Session,
    order: WorkOrder,
    actor: Actor,
    action: str,
    from_state: str | None,
    to_state: str | None,
    note: str | None,
    now: dt.datetime,
    data: dict[str, Any] | None = None,
) -> WorkOrderEvent:
    event = WorkOrderEvent(**_event_row(order, actor, action, from_state, to_state, note, now, data))
    session.add(event)
    return event


def _event_row(order: WorkOrder, actor: Actor, action: str, from_state: str | None,
               to_state: str | None, note: str | None, now: dt.datetime,
               data: dict[str, Any] | None = None) -> dict[str, Any]:
    """A timeline event's row: added through the session by ``_event``, or inserted with
    Core (``_INSERT_EVENTS``) by the registration."""
    return {"order_id": order.id, "action": action, "from_state": from_state, "to_state": to_state,
            "actor_id": actor.user_id, "actor_name": actor.display_name, "note": note, "data": data,
            "created_at": now}


# inline: no RETURNING of the new ids (nobody reads them)
_INSERT_EVENTS = WorkOrderEvent.__table__.insert().inline()


def _text(params: dict[str, Any], key: str, required: bool = True, limit: int = 4000) -> str | None:
    value = params.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidInput(f"{key} is required", field=key)
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be text", field=key)
    if len(value) > limit:
        raise InvalidInput(f"{key} is longer than {limit} characters", field=key)
    return value.strip()


def _number(params: dict[str, Any], key: str, lo: float, hi: float, *, whole: bool,
            required: bool) -> float | None:
    """A number from an action's parameters, refused with the field named when it is missing
    (if required), not a number, not whole (if ``whole``), out of [lo, hi] or NaN."""
    value = params.get(key)
    kind = "a whole number" if whole else "a number"
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{key} is required", field=key)
        return None
    if isinstance(value, bool):
        raise InvalidInput(f"{key} must be {kind}", field=key)
    try:
        number = float(value) if not whole or isinstance(value, float) else int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be {kind}", field=key) from None
    if not lo <= number <= hi:  # also refuses NaN (and infinity)
        raise InvalidInput(f"{key} must be between {lo:g} and {hi:g}", field=key)
    if whole and number != int(number):
        raise InvalidInput(f"{key} must be {kind}", field=key)
    return int(number) if whole else number


def _int(params: dict[str, Any], key: str, lo: int, hi: int, required: bool = True) -> int | None:
    number = _number(params, key, lo, hi, whole=True, required=required)
    return None if number is None else int(number)


def _move(session: Session, order: WorkOrder, actor: Actor, action: str, to: str,
          note: str | None, now: dt.datetime, data: dict[str, Any] | None = None) -> None:
    from_state = order.state
    order.state = to
    _event(session, order, actor, action, from_state, to, note, now, data)


def _resolve_assignee(session: Session, actor: Actor, order: WorkOrder, params: dict[str, Any]) -> StaffProfile:
    from app.models.org import StaffProfile as SP
    from flask_appbuilder.security.sqla.models import User

    ref = params.get("assignee")
    if ref in (None, ""):
        # Default: the district manager who owns the order's grid.
        grid = session.get(Grid, order.grid_id) if order.grid_id else None
        if grid is None or grid.district_manager_id is None:
            raise InvalidInput("assignee is required (the order's grid has no district manager)",
                               field="assignee")
        staff = session.get(SP, grid.district_manager_id)
    elif isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        staff = session.get(SP, int(ref))
    elif isinstance(ref, str):
        staff = session.scalar(select(SP).join(User, User.id == SP.user_id).where(User.username == ref))
    else:
        raise InvalidInput("assignee must be a username or a staff id", field="assignee")
    if staff is None:
        raise InvalidInput(f"unknown assignee: {ref}", field="assignee")
    user = session.get(User, staff.user_id)
    if user is None or not user.active:
        raise InvalidInput(f"{staff.name} is not an active user", field="assignee")
    roles = {r.name for r in user.roles}
    if DISTRICT_MANAGER not in roles and not roles & LEADERS:
        raise InvalidInput(f"{staff.name} cannot handle work orders", field="assignee")
    if not actor.is_admin:
        same_station = staff.station_id is not None and staff.station_id == (order.station_id or actor.station_id)
        if not same_station:
            raise OutOfScope(f"{staff.name} is outside your scope")
        if actor.scope_level() == "team" and staff.team_id != actor.team_id:
            raise OutOfScope(f"{staff.name} is not in your team")
    return staff


def _confirmed(params: dict[str, Any], key: str) -> bool:
    value = params.get(key)
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"))


def _check_available(session: Session, actor: Actor, staff: StaffProfile, params: dict[str, Any],
                     now: dt.datetime) -> dict[str, Any]:
    """Refuse someone on leave or off duty unless the caller confirms (``confirm_leave``);
    returns what the timeline keeps about it.  The system's own dispatches (a task template's
    named assignee, an outage child following its parent) are not asked."""
    from app.rules.availability import availability_of

    if actor.user_id is None:
        return {}
    found = availability_of(session, staff, now)
    if found.available:
        return {}
    if not _confirmed(params, "confirm_leave"):
        raise NeedsConfirmation(
            f"{staff.name} is {found.describe()}; confirm to give them the order anyway",
            field="confirm_leave")
    return {"confirmed_unavailable": found.describe()}


def _dispatch(session, actor, order, params, policy, now):
    staff = _resolve_assignee(session, actor, order, params)
    confirmed = _check_available(session, actor, staff, params, now)
    order.assignee_id = staff.id
    if staff.team_id and not order.team_id:
        order.team_id = staff.team_id
    order.dispatched_at = now
    _move(session, order, actor, "dispatch", S.DISPATCHED.value, _text(params, "note", False), now,
          {"assignee": staff.name, **confirmed})


def _transfer(session, actor, order, params, policy, now):
    """Another district manager takes the order over in the state it is in; its clocks run on
    untouched (the customer has waited since registration, whoever handles it)."""
    if params.get("assignee") in (None, ""):
        raise InvalidInput("assignee is required: the district manager who takes the order over",
                           field="assignee")
    reason = _text(params, "reason")
    staff = _resolve_assignee(session, actor, order, params)
    if staff.id == order.assignee_id:
        raise InvalidInput(f"the order is already with {staff.name}", field="assignee")
    confirmed = _check_available(session, actor, staff, params, now)
    before = session.get(StaffProfile, order.assignee_id) if order.assignee_id else None
    order.assignee_id = staff.id
    if staff.team_id and staff.team_id != order.team_id:
        order.team_id = staff.team_id
    _event(session, order, actor, "transfer", order.state, order.state,
           f"{before.name if before else '—'} → {staff.name}：{reason}", now,
           {"from": before.name if before else None, "from_id": before.id if before else None,
            "assignee": staff.name, "reason": reason, **confirmed})


_PRIORITY_NAMES = {"low": "低", "normal": "普通", "high": "高", "urgent": "紧急"}


def _amend(session, actor, order, params, policy, now):
    """The team leader's change of what the order says or how urgent it is, on the timeline."""
    changes: dict[str, list[Any]] = {}
    content = _text(params, "content", False, limit=10000)
    if content is not None and content != order.content:
        changes["content"] = [order.content, content]
        order.content = content
    priority = params.get("priority")
    if priority not in (None, ""):
        try:
            Priority(priority)
        except ValueError:
            raise InvalidInput(f"unknown priority: {priority}", field="priority") from None
        if priority != order.priority:
            changes["priority"] = [order.priority, priority]
            order.priority = priority
    if not changes:
        raise InvalidInput("change the content or the priority", field="content")
    said = []
    if "priority" in changes:
        old, new = changes["priority"]
        said.append(f"优先级 {_PRIORITY_NAMES.get(old, old)} → {_PRIORITY_NAMES.get(new, new)}")
    if "content" in changes:
        said.append("内容已修改")
    note = _text(params, "note", False)
    _event(session, order, actor, "amend", order.state, order.state,
           "；".join(said) + (f"：{note}" if note else ""), now, {"changes": changes})


def _void(session, actor, order, params, policy, now):
    reason = _text(params, "reason")
    if order.suspended:  # a voided order's clock stops for good: close the open pause
        suspension = session.scalar(select(Suspension).where(
            Suspension.order_id == order.id, Suspension.ended_at.is_(None)))
        if suspension is not None:
            suspension.ended_at = now
        order.suspended = False
        order.suspended_at = None
    _move(session, order, actor, "void", S.VOIDED.value, reason, now)


def _accept(session, actor, order, params, policy, now):
    order.accepted_at = now
    _move(session, order, actor, "accept", S.ACCEPTED.value, _text(params, "note", False), now)


def _return(session, actor, order, params, policy, now):
    reason = _text(params, "reason")
    order.assignee_id = None
    order.dispatched_at = None
    order.return_count += 1
    _move(session, order, actor, "return", S.REGISTERED.value, reason, now)


def _resolve(session, actor, order, params, policy, now):
    order.resolution = _text(params, "resolution", limit=10000)
    order.resolved_at = now
    # Resolving meets every clock still running (a repair resolved is a repair restored).
    closed = clocks.meet(order, [c.kind for c in order.clocks], now)
    order.timely = clocks.order_timely(order)
    _move(session, order, actor, "resolve", S.RESOLVED.value, order.resolution, now,
          {"timely": order.timely, "clocks_met": closed,
           "late": [c.kind for c in order.clocks if c.timely is False]})


def _reject(session, actor, order, params, policy, now):
    reason = _text(params, "reason")
    clocks.reopen(order, met_at=order.resolved_at)
    order.resolved_at = None
    order.timely = None
    _move(session, order, actor, "reject", S.ACCEPTED.value, reason, now)


def _verify(session, actor, order, params, policy, now):
    order.verified_at = now
    _move(session, order, actor, "verify", S.VERIFIED.value, _text(params, "note", False), now)


def _evaluate(session, actor, order, params, policy, now):
    parts = {k: _int(params, k, 0, 100, required=False) for k in ("timeliness", "quality", "attitude")}
    given = [v for v in parts.values() if v is not None]
    score = _int(params, "score", 0, 100, required=not given)
    if given and len(given) != 3:
        raise InvalidInput("give all three scores: timeliness, quality and attitude", field="score")
    if score is None:
        score = round(sum(given) / 3)
    order.score = score
    order.score_timeliness = parts["timeliness"]
    order.score_quality = parts["quality"]
    order.score_attitude = parts["attitude"]
    order.evaluation_comment = _text(params, "comment", False)
    order.evaluated_at = now
    _move(session, order, actor, "evaluate", S.EVALUATED.value, order.evaluation_comment, now,
          {"score": score, **{k: v for k, v in parts.items() if v is not None}})


def _urge(session, actor, order, params, policy, now):
    order.urge_count += 1
    _event(session, order, actor, "urge", order.state, order.state, _text(params, "note", False), now,
           {"urge_count": order.urge_count})


def raise_supervision(order: WorkOrder, level: str | None = None) -> str:
    current = SUPERVISION_LADDER.index(order.supervision_level or "none")
    if level:
        if level not in SUPERVISION_LADDER:
            raise InvalidInput(f"unknown supervision level: {level}", field="level")
        target = SUPERVISION_LADDER.index(level)
        if target <= current:
            raise IllegalTransition(f"the order is already supervised at {order.supervision_level}")
    else:
        target = min(current + 1, len(SUPERVISION_LADDER) - 1)
    order.supervision_level = SUPERVISION_LADDER[target]
    return order.supervision_level


def _supervise(session, actor, order, params, policy, now):
    before = order.supervision_level
    after = raise_supervision(order, params.get("level"))
    _event(session, order, actor, "supervise", order.state, order.state, _text(params, "note", False), now,
           {"from_level": before, "to_level": after})


def _reopen(session, actor, order, params, policy, now):
    reason = _text(params, "reason")
    closed_at = order.evaluated_at or now
    if now - closed_at <= dt.timedelta(days=policy.reopen_window_days):
        clocks.reopen(order, met_at=order.resolved_at)
        order.resolved_at = order.verified_at = order.evaluated_at = None
        order.timely = None
        order.redo_count += 1
        order.dispatched_at = now
        target = S.DISPATCHED.value if order.assignee_id else S.REGISTERED.value
        _move(session, order, actor, "reopen", target, reason, now)
        return None
    # Past the window the closed order stays closed; a new order carries the demand on.
    new = register_order(
        session, actor, channel=order.channel, demand_type=order.demand_type,
        content=order.content, contact_name=order.contact_name, phone=order.phone,
        address=order.address, customer_no=order.customer_no, grid_id=order.grid_id,
        priority=order.priority, policy=policy, now=now, route=True,
        extra={"reopened_from_id": order.id},
    )
    _event(session, order, actor, "reopen", order.state, order.state,
           f"{reason} → {new.number}", now, {"new_order": new.number})
    _event(session, new, actor, "reopen", None, new.state, f"{reason} ← {order.number}", now,
           {"reopened_from": order.number})
    return new


def _suspend(session, actor, order, params, policy, now):
    reason = _text(params, "reason")
    order.suspended = True
    order.suspended_at = now
    session.add(Suspension(order_id=order.id, reason=reason, started_at=now))
    _event(session, order, actor, "suspend", order.state, order.state, reason, now)


def _resume(session, actor, order, params, policy, now):
    suspension = session.scalar(
        select(Suspension).where(Suspension.order_id == order.id, Suspension.ended_at.is_(None))
        .order_by(Suspension.id.desc())
    )
    started = suspension.started_at if suspension else (order.suspended_at or now)
    paused = calendar.working_time_between(started, now)
    if suspension:
        suspension.ended_at = now
        suspension.paused_seconds = int(paused.total_seconds())
    old_deadline = order.deadline
    session.flush()
    clocks.recompute_clocks(session, order)  # every clock still running moves by the pause
    order.suspended = False
    order.suspended_at = None
    _event(session, order, actor, "resume", order.state, order.state, _text(params, "note", False), now,
           {"paused_seconds": int(paused.total_seconds()),
            "old_deadline": old_deadline.isoformat() if old_deadline else None,
            "new_deadline": order.deadline.isoformat() if order.deadline else None})


def _pending_extension(session: Session, order: WorkOrder) -> ExtensionRequest | None:
    return session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.order_id == order.id,
            ExtensionRequest.status == ExtensionStatus.PENDING.value,
        )
    )


def _extend(session, actor, order, params, policy, now):
    reason = _text(params, "reason")
    days = _int(params, "days", 1, 60)
    session.add(ExtensionRequest(order_id=order.id, reason=reason, requested_days=days,
                                 requested_by_id=actor.user_id, requested_at=now))
    _event(session, order, actor, "extend", order.state, order.state, reason, now, {"days": days})


def _approve_extension(session, actor, order, params, policy, now):
    request = _pending_extension(session, order)
    assert request is not None  # state_allows checked it
    days = _int(params, "days", 1, 60, required=False) or request.requested_days
    request.status = ExtensionStatus.APPROVED.value
    request.approved_days = days
    request.decided_by_id = actor.user_id
    request.decided_at = now
    request.decision_note = _text(params, "note", False)
    old_deadline = order.deadline
    session.flush()
    clocks.recompute_clocks(session, order)
    _event(session, order, actor, "approve_extension", order.state, order.state, request.decision_note, now,
           {"days": days, "old_deadline": old_deadline.isoformat() if old_deadline else None,
            "new_deadline": order.deadline.isoformat() if order.deadline else None})


def _refuse_extension(session, actor, order, params, policy, now):
    request = _pending_extension(session, order)
    assert request is not None
    request.status = ExtensionStatus.REFUSED.value
    request.decided_by_id = actor.user_id
    request.decided_at = now
    request.decision_note = _text(params, "reason", False)
    _event(session, order, actor, "refuse_extension", order.state, order.state, request.decision_note, now)


def _callback(session, actor, order, params, policy, now):
    satisfied = params.get("satisfied")
    if not isinstance(satisfied, bool):
        if satisfied in ("true", "1", "yes", "on"):
            satisfied = True
        elif satisfied in ("false", "0", "no", "off"):
            satisfied = False
        else:
            raise InvalidInput("satisfied must be true or false", field="satisfied")
    answers = params.get("answers") or {}
    if not isinstance(answers, dict):
        raise InvalidInput("answers must be an object of question code → answer", field="answers")
    questions = {q.code: q for q in session.scalars(select(CallbackQuestion).where(CallbackQuestion.active.is_(True)))}
    unknown = set(answers) - set(questions)
    if unknown:
        raise InvalidInput(f"unknown question: {sorted(unknown)[0]}", field="answers")
    answers = {code: _answer(questions[code], value) for code, value in answers.items()}
    note = _text(params, "note", False)
    session.add(ReturnVisit(order_id=order.id, satisfied=satisfied, answers=answers, note=note,
                            visited_by_id=actor.user_id, visited_at=now))
    _event(session, order, actor, "callback", order.state, order.state, note, now,
           {"satisfied": satisfied, "answers": answers})
    if not satisfied:
        # An unsatisfied customer sends the order back to its handler for redo (重办).
        order.redo_count += 1
        clocks.reopen(order, met_at=order.resolved_at)
        order.resolved_at = order.verified_at = order.evaluated_at = None
        order.timely = None
        _move(session, order, SYSTEM if actor is None else actor, "redo", S.ACCEPTED.value,
              f"redo #{order.redo_count}", now, {"redo_count": order.redo_count})


_YES = {"yes", "true", "1", "是"}
_NO = {"no", "false", "0", "否"}


def _answer(question: CallbackQuestion, value: Any) -> Any:
    """One answer checked against its question's kind: yes/no → "yes"/"no", satisfaction →
    1–5, choice → one of the options, text → at most 500 characters."""
    field = f"answer_{question.code}"
    kind = question.kind or QuestionKind.TEXT.value
    if kind == QuestionKind.YES_NO.value:
        text = str(value).strip().lower()
        if isinstance(value, bool):
            return "yes" if value else "no"
        if text in _YES:
            return "yes"
        if text in _NO:
            return "no"
        raise InvalidInput(f"{question.code}: answer yes or no", field=field)
    if kind == QuestionKind.SATISFACTION.value:
        number = _int({field: value}, field, 1, 5)
        return number
    if kind == QuestionKind.CHOICE.value:
        text = str(value).strip()
        if text not in question.option_list():
            raise InvalidInput(f"{question.code}: choose one of {', '.join(question.option_list())}", field=field)
        return text
    if not isinstance(value, str):
        raise InvalidInput(f"{question.code}: the answer must be text", field=field)
    if len(value) > 500:
        raise InvalidInput(f"{question.code}: the answer is longer than 500 characters", field=field)
    return value.strip()


def _float(params: dict[str, Any], key: str, lo: float, hi: float) -> float | None:
    return _number(params, key, lo, hi, whole=False, required=False)


def _contact(session, actor, order, params, policy, now):
    note = _text(params, "note", False)
    clocks.meet(order, [clocks.K.CONTACT.value], now)
    timely = next((c.timely for c in order.clocks if c.kind == clocks.K.CONTACT.value), None)
    _event(session, order, actor, "contact", order.state, order.state, note, now, {"timely": timely})


def _arrive(session, actor, order, params, policy, now):
    latitude = _float(params, "latitude", -90, 90)
    longitude = _float(params, "longitude", -180, 180)
    if (latitude is None) != (longitude is None):
        raise InvalidInput("give both latitude and longitude, or neither", field="latitude")
    note = _text(params, "note", False)
    order.arrival_latitude = Decimal(f"{latitude:.6f}") if latitude is not None else None
    order.arrival_longitude = Decimal(f"{longitude:.6f}") if longitude is not None else None
    # Whoever stands at the customer's door has contacted them.
    clocks.meet(order, [clocks.K.ARRIVAL.value, clocks.K.CONTACT.value], now)
    timely = next((c.timely for c in order.clocks if c.kind == clocks.K.ARRIVAL.value), None)
    _event(session, order, actor, "arrive", order.state, order.state, note, now,
           {"timely": timely, "latitude": latitude, "longitude": longitude})


_HANDLERS: dict[str, Callable[..., WorkOrder | None]] = {
    "dispatch": _dispatch,
    "accept": _accept,
    "return": _return,
    "resolve": _resolve,
    "reject": _reject,
    "verify": _verify,
    "evaluate": _evaluate,
    "urge": _urge,
    "supervise": _supervise,
    "reopen": _reopen,
    "suspend": _suspend,
    "resume": _resume,
    "extend": _extend,
    "approve_extension": _approve_extension,
    "refuse_extension": _refuse_extension,
    "callback": _callback,
    "contact": _contact,
    "arrive": _arrive,
    "transfer": _transfer,
    "amend": _amend,
    "void": _void,
}
_ = (ADMIN, Customer)
