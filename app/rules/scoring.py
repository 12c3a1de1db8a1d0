"""Work-point scoring rules over a work order when it is evaluated.

Each award, multiplication or deduction becomes one ``WorkPointEntry`` for the order's
assignee naming the rule set and rule that produced it, so every point can be explained.
A multiplication applies to the points this order has earned so far in the same run and is
booked as its own entry (the difference).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from business_rules.actions import rule_action
from business_rules.fields import FIELD_NUMERIC
from business_rules.variables import (
    BaseVariables,
    boolean_rule_variable,
    numeric_rule_variable,
    select_rule_variable,
)
from sqlalchemy.orm import Session

from app.models.points import WorkPointEntry
from app.models.workorder import Channel, DemandType, Priority, WorkOrder
from app.rules.base import (
    DomainSpec,
    RecordingActions,
    enum_options,
    optional_numeric_rule_variable,
    register_domain,
)
from app.rules.engine import Fired, LoadedRuleSet, active_rule_sets, record_firings, run
from app.workflow.actor import Actor

DOMAIN = "scoring"
CENT = Decimal("0.01")


class ScoringVariables(BaseVariables):
    def __init__(self, session: Session, order: WorkOrder) -> None:
        self.session, self.order = session, order

    @select_rule_variable("Demand type", options=enum_options(DemandType))
    def demand_type(self) -> list[str]:
        return [self.order.demand_type]

    @select_rule_variable("Channel", options=enum_options(Channel))
    def channel(self) -> list[str]:
        return [self.order.channel]

    @select_rule_variable("Priority", options=enum_options(Priority))
    def priority(self) -> list[str]:
        return [self.order.priority]

    @boolean_rule_variable("Resolved before the deadline")
    def timely(self) -> bool:
        return bool(self.order.timely)

    @optional_numeric_rule_variable("Handling hours (received → resolved)")
    def handling_hours(self) -> Decimal | None:
        if self.order.resolved_at is None or self.order.received_at is None:
            return None
        seconds = (self.order.resolved_at - self.order.received_at).total_seconds()
        return (Decimal(seconds) / Decimal(3600)).quantize(CENT)

    @optional_numeric_rule_variable("Evaluation score (0–100)")
    def score(self) -> int | None:
        return self.order.score

    @numeric_rule_variable("Redo count")
    def redo_count(self) -> int:
        return self.order.redo_count or 0


_POINTS = [{"name": "points", "label": "Points", "fieldType": FIELD_NUMERIC}]


class ScoringActions(RecordingActions):
    @rule_action("Award points", params=_POINTS)
    def award(self, points: Any) -> None:
        self._record("award", points=points)

    @rule_action("Multiply the points earned so far",
                 params=[{"name": "factor", "label": "Factor", "fieldType": FIELD_NUMERIC}])
    def multiply(self, factor: Any) -> None:
        self._record("multiply", factor=factor)

    @rule_action("Deduct points", params=_POINTS)
    def deduct(self, points: Any) -> None:
        self._record("deduct", points=points)


SPEC = register_domain(DomainSpec(DOMAIN, "work_order", ScoringVariables, ScoringActions))


@dataclass
class Booking:
    rule_set: str
    rule: str
    points: Decimal
    reason: str


def bookings(fired: list[Fired]) -> list[Booking]:
    """The ledger lines the fired rules ask for, in order."""
    total = Decimal(0)
    lines: list[Booking] = []
    for item in fired:
        for effect in item.effects:
            if effect.action == "award":
                amount = Decimal(str(effect.params["points"])).quantize(CENT)
                reason = f"award {amount}"
            elif effect.action == "deduct":
                amount = -Decimal(str(effect.params["points"])).quantize(CENT)
                reason = f"deduct {-amount}"
            elif effect.action == "multiply":
                factor = Decimal(str(effect.params["factor"]))
                amount = (total * (factor - 1)).quantize(CENT)
                reason = f"× {factor} of {total}"
            else:
                continue
            total += amount
            lines.append(Booking(item.rule_set, item.rule, amount, reason))
    return lines


def evaluate(session: Session, order: WorkOrder, rule_sets: list[LoadedRuleSet] | None = None) -> list[Fired]:
    sets = active_rule_sets(session, DOMAIN) if rule_sets is None else rule_sets
    return run(sets, ScoringVariables(session, order), ScoringActions)


def score_evaluated_order(session: Session, order: WorkOrder, action: str, actor: Actor,
                          params: dict[str, Any], now: dt.datetime | None = None) -> None:
    """Workflow hook: book the work points of an order when it is evaluated."""
    if action != "evaluate" or order.assignee_id is None:
        return
    sets = active_rule_sets(session, DOMAIN)
    if not sets:
        return
    fired = evaluate(session, order, sets)
    for line in bookings(fired):
        if line.points == 0:
            continue
        session.add(WorkPointEntry(
            staff_id=order.assignee_id, source_type="work_order", source_id=order.id,
            order_id=order.id, points=line.points, rule_set=line.rule_set, rule_name=line.rule,
            reason=f"{order.number}: {line.reason}",
            **({"created_at": order.evaluated_at} if order.evaluated_at else {}),
        ))
    record_firings(session, DOMAIN, "work_order", order.id, fired)
