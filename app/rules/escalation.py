"""Escalation rules over open work orders, run by the scheduler (``run_escalation``).

An order that keeps coming back, gets urged or runs out of time is raised a supervision level
(督办: station → county → city) with an event on its timeline, and the named roles are
notified.  A rule acts on an order once: what it did is in the rule-firing log, and the next
sweep skips that (order, rule) pair.  Suspended orders are skipped (their clock stands
still), and hours to the deadline are working hours unless a rule uses the round-the-clock
variable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from business_rules.actions import rule_action
from business_rules.fields import FIELD_SELECT, FIELD_SELECT_MULTIPLE
from business_rules.variables import (
    BaseVariables,
    boolean_rule_variable,
    numeric_rule_variable,
    select_rule_variable,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.notification import Notification
from app.models.org import Position, StaffProfile
from app.models.rules import RuleFiring
from app.models.workorder import (
    OPEN_STATES,
    Channel,
    DemandType,
    OrderState,
    Priority,
    SupervisionLevel,
    WorkOrder,
    WorkOrderEvent,
)
from app.rules.base import (
    DomainSpec,
    RecordingActions,
    enum_options,
    optional_numeric_rule_variable,
    options,
    register_domain,
)
from app.rules.engine import Fired, LoadedRuleSet, active_rule_sets, record_firings, run
from app.workflow import service
from app.workflow.actor import SYSTEM
from app.workflow.calendar import working_time_between
from app.workflow.errors import IllegalTransition

DOMAIN = "escalation"
BATCH = 500

NOTIFY_ROLES = options([("station_manager", "Station manager"), ("team_leader", "Team leader"),
                        ("assignee", "Assignee"), ("admin", "System administrator")])


def _hours(seconds: float) -> Decimal:
    return (Decimal(seconds) / Decimal(3600)).quantize(Decimal("0.01"))


class EscalationVariables(BaseVariables):
    def __init__(self, session: Session, order: WorkOrder, now: dt.datetime) -> None:
        self.session, self.order, self.now = session, order, now

    @numeric_rule_variable("Redo count")
    def redo_count(self) -> int:
        return self.order.redo_count or 0

    @numeric_rule_variable("Urges")
    def urge_count(self) -> int:
        return self.order.urge_count or 0

    @numeric_rule_variable("Returns")
    def return_count(self) -> int:
        return self.order.return_count or 0

    @optional_numeric_rule_variable("Working hours to the deadline (negative when overdue)")
    def hours_to_deadline(self) -> Decimal | None:
        # Working hours on the statutory calendar, as the deadline itself counts them: a
        # Friday-evening order due Monday is not "60 hours" from trouble.
        if self.order.deadline is None:
            return None
        if self.now <= self.order.deadline:
            left = working_time_between(self.now, self.order.deadline)
        else:
            left = -working_time_between(self.order.deadline, self.now)
        return _hours(left.total_seconds())

    @optional_numeric_rule_variable("Hours to the deadline, round the clock (negative when overdue)")
    def calendar_hours_to_deadline(self) -> Decimal | None:
        # For a rule that means wall-clock hours (e.g. repairs, which run at weekends too).
        if self.order.deadline is None:
            return None
        return _hours((self.order.deadline - self.now).total_seconds())

    @select_rule_variable("Supervision level", options=enum_options(SupervisionLevel))
    def supervision_level(self) -> list[str]:
        return [self.order.supervision_level or SupervisionLevel.NONE.value]

    @select_rule_variable("State", options=enum_options(OrderState))
    def state(self) -> list[str]:
        return [self.order.state]

    @select_rule_variable("Demand type", options=enum_options(DemandType))
    def demand_type(self) -> list[str]:
        return [self.order.demand_type]

    @select_rule_variable("Channel", options=enum_options(Channel))
    def channel(self) -> list[str]:
        return [self.order.channel]

    @select_rule_variable("Priority", options=enum_options(Priority))
    def priority(self) -> list[str]:
        return [self.order.priority]

    @boolean_rule_variable("Sensitive")
    def sensitive(self) -> bool:
        return bool(self.order.sensitive)


class EscalationActions(RecordingActions):
    @rule_action("Raise supervision one level")
    def raise_supervision(self) -> None:
        self._record("raise_supervision")

    @rule_action("Raise supervision to a level", params=[
        {"name": "level", "label": "Level", "fieldType": FIELD_SELECT,
         "options": enum_options(SupervisionLevel)[1:]}])
    def raise_supervision_to(self, level: str) -> None:
        self._record("raise_supervision_to", level=level)

    @rule_action("Notify roles", params=[
        {"name": "roles", "label": "Roles", "fieldType": FIELD_SELECT_MULTIPLE, "options": NOTIFY_ROLES}])
    def notify_roles(self, roles: list[str]) -> None:
        self._record("notify_roles", roles=roles)


SPEC = register_domain(DomainSpec(DOMAIN, "work_order", EscalationVariables, EscalationActions))


@dataclass
class Escalated:
    order_id: int
    number: str
    rule: str
    did: list[str] = field(default_factory=list)


def evaluate(session: Session, order: WorkOrder, now: dt.datetime,
             rule_sets: list[LoadedRuleSet] | None = None) -> list[Fired]:
    sets = active_rule_sets(session, DOMAIN) if rule_sets is None else rule_sets
    return run(sets, EscalationVariables(session, order, now), EscalationActions)


def _recipients(session: Session, order: WorkOrder, roles: list[str]) -> list[int]:
    users: list[int] = []
    positions = {"station_manager": Position.STATION_MANAGER.value, "team_leader": Position.TEAM_LEADER.value,
                 "admin": Position.ADMIN.value}
    for role in roles:
        if role == "assignee":
            staff = session.get(StaffProfile, order.assignee_id) if order.assignee_id else None
            users += [staff.user_id] if staff else []
            continue
        query = select(StaffProfile.user_id).where(StaffProfile.position == positions[role])
        if role == "station_manager":
            query = query.where(StaffProfile.station_id == order.station_id)
        elif role == "team_leader":
            query = query.where(StaffProfile.team_id == order.team_id)
        users += list(session.scalars(query))
    return list(dict.fromkeys(users))


def describe(order: WorkOrder, item: Fired) -> list[str]:
    """What a fired rule would do to the order, in words (dry run)."""
    words = []
    level = order.supervision_level or "none"
    for effect in item.effects:
        if effect.action == "raise_supervision":
            ladder = service.SUPERVISION_LADDER
            target = ladder[min(ladder.index(level) + 1, len(ladder) - 1)]
            words.append(f"supervision {level} → {target}" if target != level else "already at the top level")
        elif effect.action == "raise_supervision_to":
            words.append(f"supervision {level} → {effect.params['level']}")
        elif effect.action == "notify_roles":
            words.append("notify " + ", ".join(effect.params["roles"]))
    return words


def apply(session: Session, order: WorkOrder, item: Fired, now: dt.datetime) -> list[str]:
    did: list[str] = []
    for effect in item.effects:
        if effect.action in ("raise_supervision", "raise_supervision_to"):
            before = order.supervision_level
            try:
                after = service.raise_supervision(order, effect.params.get("level"))
            except IllegalTransition:
                continue  # already at (or above) that level
            if after == before:
                continue
            session.add(WorkOrderEvent(
                order_id=order.id, action="supervise", from_state=order.state, to_state=order.state,
                actor_id=None, actor_name=SYSTEM.display_name, note=f"escalation rule {item.key}",
                data={"from_level": before, "to_level": after, "rule": item.key}, created_at=now,
            ))
            order.updated_at = now
            did.append(f"supervision {before} → {after}")
            # The assignee hears of supervision raised by a rule as of one raised by hand.
            from app.notifications.workorder import notify_transition

            notify_transition(session, order, "supervise", SYSTEM, {"note": f"escalation rule {item.key}"})
        elif effect.action == "notify_roles":
            for user_id in _recipients(session, order, effect.params["roles"]):
                session.add(Notification(
                    user_id=user_id, kind="escalation", order_id=order.id, created_at=now,
                    title=f"{order.number} 督办升级 / escalated",
                    body=f"{order.number}: {item.key} (supervision {order.supervision_level})",
                    link=f"/workorderview/show/{order.id}",
                ))
            did.append("notified " + ", ".join(effect.params["roles"]))
    return did


def run_escalation(session: Session, now: dt.datetime | None = None) -> list[Escalated]:
    """Sweep the open orders once; the caller commits.  Called by the scheduler."""
    now = now or utcnow()
    sets = active_rule_sets(session, DOMAIN)
    if not sets:
        return []
    done: list[Escalated] = []
    last_id = 0
    while True:
        orders = list(session.scalars(
            # A suspended order's clock stands still: nothing about it can be escalated.
            select(WorkOrder).where(WorkOrder.state.in_(OPEN_STATES), WorkOrder.suspended.is_(False),
                                    WorkOrder.id > last_id)
            .order_by(WorkOrder.id).limit(BATCH)
        ))
        if not orders:
            break
        last_id = orders[-1].id
        already = {
            (r.subject_id, r.rule_set, r.rule_name) for r in session.execute(
                select(RuleFiring.subject_id, RuleFiring.rule_set, RuleFiring.rule_name).where(
                    RuleFiring.domain == DOMAIN, RuleFiring.subject_type == "work_order",
                    RuleFiring.subject_id.in_([o.id for o in orders]))
            )
        }
        for order in orders:
            fired = [f for f in evaluate(session, order, now, sets)
                     if (order.id, f.rule_set, f.rule) not in already]
            for item in fired:
                did = apply(session, order, item, now)
                done.append(Escalated(order.id, order.number, item.key, did))
            record_firings(session, DOMAIN, "work_order", order.id, fired)
        session.flush()
    return done

