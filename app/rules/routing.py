"""Routing rules over a new work order: who gets it, how urgent it is, by when.

Rule sets run highest priority first; for the assignee, the priority and the deadline the
first rule that sets one wins, flags (sensitive, escalate) add up.  When routing is configured
(at least one active routing rule set) and no rule assigns the order, it goes to its grid's
district manager.  Every assignment skips people on leave or off duty (their stand-in takes
the order); an order nobody can take stays registered for the team leader to dispatch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from business_rules.actions import rule_action
from business_rules.fields import FIELD_NUMERIC, FIELD_SELECT
from business_rules.variables import (
    BaseVariables,
    boolean_rule_variable,
    numeric_rule_variable,
    select_multiple_rule_variable,
    select_rule_variable,
    string_rule_variable,
)
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models.customer import CustomerTag, CustomerType
from app.models.org import Grid, Position, StaffProfile, Team
from app.models.workorder import Channel, DemandType, Priority, WorkOrder
from app.rules import availability
from app.rules.base import (
    DomainSpec,
    RecordingActions,
    enum_options,
    options,
    register_domain,
)
from app.rules.engine import Fired, LoadedRuleSet, active_rule_sets, record_firings, run
from app.workflow.calendar import LOCAL_TZ, is_working_day
from app.workflow.service import RoutingDecision

DOMAIN = "routing"


class RoutingVariables(BaseVariables):
    def __init__(self, session: Session, order: WorkOrder, now: dt.datetime) -> None:
        self.session, self.order, self.now = session, order, now

    @select_rule_variable("Channel", options=enum_options(Channel))
    def channel(self) -> list[str]:
        return [self.order.channel]

    @select_rule_variable("Demand type", options=enum_options(DemandType))
    def demand_type(self) -> list[str]:
        return [self.order.demand_type]

    @select_rule_variable("Customer type", options=enum_options(CustomerType))
    def customer_type(self) -> list[str]:
        customer = self.order.customer
        return [customer.customer_type] if customer is not None else []

    @select_multiple_rule_variable("Customer tags")
    def customer_tags(self) -> list[str]:
        customer = self.order.customer
        return [tag.code for tag in customer.tags] if customer is not None else []

    @select_rule_variable("Grid")
    def grid(self) -> list[str]:
        grid = self.session.get(Grid, self.order.grid_id) if self.order.grid_id else None
        return [grid.code] if grid is not None else []

    @string_rule_variable("Content")
    def content(self) -> str:
        return self.order.content or ""

    @numeric_rule_variable("Hour of day received (0–23)")
    def hour_of_day(self) -> int:
        return (self.order.received_at or self.now).astimezone(LOCAL_TZ).hour

    @boolean_rule_variable("Received on a working day")
    def working_day(self) -> bool:
        return is_working_day((self.order.received_at or self.now).astimezone(LOCAL_TZ).date())

    def _same_phone(self, days: int) -> int:
        if not self.order.phone:
            return 0
        since = (self.order.received_at or self.now) - dt.timedelta(days=days)
        return int(self.session.scalar(
            select(func.count()).select_from(WorkOrder).where(
                WorkOrder.phone == self.order.phone, WorkOrder.id != self.order.id,
                WorkOrder.received_at >= since)
        ) or 0)

    @numeric_rule_variable("Earlier orders from the same phone in 7 days")
    def same_phone_orders_7_days(self) -> int:
        return self._same_phone(7)

    @numeric_rule_variable("Earlier orders from the same phone in 30 days")
    def same_phone_orders_30_days(self) -> int:
        return self._same_phone(30)


_STAFF = [{"name": "staff", "label": "Person", "fieldType": FIELD_SELECT}]
_TEAM = [{"name": "team", "label": "Team", "fieldType": FIELD_SELECT}]


class RoutingActions(RecordingActions):
    @rule_action("Assign to the grid's district manager")
    def assign_grid_manager(self) -> None:
        self._record("assign_grid_manager")

    @rule_action("Assign to a named person", params=_STAFF)
    def assign_person(self, staff: str) -> None:
        self._record("assign_person", staff=staff)

    @rule_action("Assign to the least-loaded member of a team", params=_TEAM)
    def assign_team_least_loaded(self, team: str) -> None:
        self._record("assign_team_least_loaded", team=team)

    @rule_action("Assign to the next member of a team (round robin)", params=_TEAM)
    def assign_team_round_robin(self, team: str) -> None:
        self._record("assign_team_round_robin", team=team)

    @rule_action("Escalate to the station manager")
    def escalate_to_station_manager(self) -> None:
        self._record("escalate_to_station_manager")

    @rule_action("Set priority", params=[{"name": "priority", "label": "Priority",
                                          "fieldType": FIELD_SELECT, "options": enum_options(Priority)}])
    def set_priority(self, priority: str) -> None:
        self._record("set_priority", priority=priority)

    @rule_action("Deadline in working days",
                 params=[{"name": "days", "label": "Working days", "fieldType": FIELD_NUMERIC}])
    def set_deadline_working_days(self, days: Any) -> None:
        self._record("set_deadline_working_days", days=days)

    @rule_action("Deadline in working hours",
                 params=[{"name": "hours", "label": "Working hours", "fieldType": FIELD_NUMERIC}])
    def set_deadline_hours(self, hours: Any) -> None:
        self._record("set_deadline_hours", hours=hours)

    @rule_action("Flag as sensitive")
    def flag_sensitive(self) -> None:
        self._record("flag_sensitive")


ASSIGNING = {"assign_grid_manager", "assign_person", "assign_team_least_loaded",
             "assign_team_round_robin", "escalate_to_station_manager"}


def dynamic_options(session: Session) -> dict[str, list[dict[str, str]]]:
    grids = session.execute(select(Grid.code, Grid.name).order_by(Grid.code)).all()
    tags = session.execute(select(CustomerTag.code, CustomerTag.name).order_by(CustomerTag.code)).all()
    staff = session.execute(
        select(User.username, StaffProfile.name).join(User, User.id == StaffProfile.user_id)
        .where(StaffProfile.position.in_([Position.DISTRICT_MANAGER.value, Position.TEAM_LEADER.value,
                                          Position.STATION_MANAGER.value]))
        .order_by(User.username)
    ).all()
    teams = session.execute(select(Team.code, Team.name).order_by(Team.code)).all()
    return {
        "var:grid": options((c, f"{c} {n}") for c, n in grids),
        "var:customer_tags": options(tags),
        "param:staff": options((u, f"{n} ({u})") for u, n in staff),
        "param:team": options((c, f"{c} {n}") for c, n in teams),
    }


SPEC = register_domain(DomainSpec(DOMAIN, "work_order", RoutingVariables, RoutingActions, dynamic_options))


@dataclass
class Outcome:
    """A routing decision plus the reasons behind it, in words (for the dry run)."""

    decision: RoutingDecision
    notes: list[str] = field(default_factory=list)
    assignee: StaffProfile | None = None


def _staff_by_username(session: Session, username: str) -> StaffProfile | None:
    return session.scalar(select(StaffProfile).join(User, User.id == StaffProfile.user_id)
                          .where(User.username == username))


def _station_manager(session: Session, order: WorkOrder) -> StaffProfile | None:
    return session.scalar(select(StaffProfile).where(
        StaffProfile.station_id == order.station_id,
        StaffProfile.position == Position.STATION_MANAGER.value).order_by(StaffProfile.id))


def _grid_manager(session: Session, order: WorkOrder) -> StaffProfile | None:
    grid = session.get(Grid, order.grid_id) if order.grid_id else None
    return session.get(StaffProfile, grid.district_manager_id) if grid and grid.district_manager_id else None


def _pick(session: Session, order: WorkOrder, action: str, params: dict[str, Any], now: dt.datetime,
          dry_run: bool) -> availability.Pick:
    if action in ("assign_team_least_loaded", "assign_team_round_robin"):
        team = session.scalar(select(Team).where(Team.code == params["team"]))
        if team is None:
            return availability.Pick(None, f"unknown team {params['team']}")
        if action == "assign_team_least_loaded":
            return availability.least_loaded(session, team, now)
        return availability.round_robin(session, team, now, advance=not dry_run)
    if action == "assign_person":
        person = _staff_by_username(session, params["staff"])
    elif action == "escalate_to_station_manager":
        person = _station_manager(session, order)
    else:
        person = _grid_manager(session, order)
    return availability.with_stand_in(session, person, now)


def decide(session: Session, order: WorkOrder, fired: list[Fired], now: dt.datetime,
           *, dry_run: bool = False) -> Outcome:
    decision = RoutingDecision(fired_rules=[f.key for f in fired])
    outcome = Outcome(decision)
    assigned = False
    for item in fired:
        for effect in item.effects:
            action, params = effect.action, effect.params
            where = f"[{item.key}] "
            if action in ASSIGNING:
                if assigned:
                    outcome.notes.append(where + f"{action}: ignored, an earlier rule already assigned")
                    continue
                assigned = True
                pick = _pick(session, order, action, params, now, dry_run)
                label = getattr(RoutingActions, action).label
                outcome.notes.append(where + f"{label} → {pick.note}")
                if pick.staff is not None:
                    decision.assignee_id = pick.staff.id
                    outcome.assignee = pick.staff
                if action == "escalate_to_station_manager":
                    decision.escalate = True
            elif action == "set_priority":
                if decision.priority is None:
                    decision.priority = params["priority"]
                    outcome.notes.append(where + f"priority {params['priority']}")
            elif action in ("set_deadline_working_days", "set_deadline_hours"):
                if decision.deadline_working_days is None and decision.deadline_hours is None:
                    if action == "set_deadline_working_days":
                        decision.deadline_working_days = int(params["days"])
                        outcome.notes.append(where + f"deadline {int(params['days'])} working days")
                    else:
                        decision.deadline_hours = float(params["hours"])
                        outcome.notes.append(where + f"deadline {float(params['hours']):g} working hours")
            elif action == "flag_sensitive":
                decision.sensitive = True
                outcome.notes.append(where + "flagged sensitive")
    if not assigned:
        pick = availability.with_stand_in(session, _grid_manager(session, order), now)
        outcome.notes.append(f"[default] grid's district manager → {pick.note}")
        if pick.staff is not None:
            decision.assignee_id = pick.staff.id
            outcome.assignee = pick.staff
    return outcome


def evaluate(session: Session, order: WorkOrder, now: dt.datetime,
             rule_sets: list[LoadedRuleSet] | None = None) -> list[Fired]:
    sets = active_rule_sets(session, DOMAIN) if rule_sets is None else rule_sets
    return run(sets, RoutingVariables(session, order, now), RoutingActions)


def route_order(session: Session, order: WorkOrder, now: dt.datetime) -> RoutingDecision | None:
    """The router installed in the workflow service (``service.set_router``)."""
    sets = active_rule_sets(session, DOMAIN)
    if not sets:
        return None  # routing is not configured: orders wait for the team leader's dispatch
    fired = evaluate(session, order, now, sets)
    outcome = decide(session, order, fired, now)
    if order.id is None:  # deciding before the insert: the firings follow it
        outcome.decision.after_insert = lambda s, o: record_firings(s, DOMAIN, "work_order", o.id, fired)
    else:
        record_firings(session, DOMAIN, "work_order", order.id, fired)
    return outcome.decision
