"""Work-point scoring rules over a work order when it is evaluated (and over visits, on-site
records and inspections, whose rooms call ``score_record``).

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
    options,
    register_domain,
)
from app.rules.engine import Fired, LoadedRuleSet, active_rule_sets, record_firings, run
from app.workflow.actor import Actor

DOMAIN = "scoring"
CENT = Decimal("0.01")


SOURCE_TYPES = options([("work_order", "Work order"), ("visit", "Visit"), ("onsite_record", "On-site record"),
                        ("inspection", "Inspection")])


@dataclass
class ScoringFacts:
    """What scoring rules read about the work being scored: a work order, or a visit, an on-site
    record or an inspection described by the branch that records it."""

    source_type: str = "work_order"
    demand_type: str | None = None
    channel: str | None = None
    priority: str | None = None
    timely: bool | None = None
    handling_hours: Decimal | None = None
    score: int | None = None
    redo_count: int = 0

    @classmethod
    def of_order(cls, order: WorkOrder) -> "ScoringFacts":
        hours = None
        if order.resolved_at is not None and order.received_at is not None:
            seconds = (order.resolved_at - order.received_at).total_seconds()
            hours = (Decimal(seconds) / Decimal(3600)).quantize(CENT)
        return cls("work_order", order.demand_type, order.channel, order.priority, order.timely, hours,
                   order.score, order.redo_count or 0)


def _one(value: str | None) -> list[str]:
    return [value] if value else []


class ScoringVariables(BaseVariables):
    def __init__(self, facts: ScoringFacts) -> None:
        self.facts = facts

    @select_rule_variable("Kind of work", options=SOURCE_TYPES)
    def source_type(self) -> list[str]:
        return [self.facts.source_type]

    @select_rule_variable("Demand type", options=enum_options(DemandType))
    def demand_type(self) -> list[str]:
        return _one(self.facts.demand_type)

    @select_rule_variable("Channel", options=enum_options(Channel))
    def channel(self) -> list[str]:
        return _one(self.facts.channel)

    @select_rule_variable("Priority", options=enum_options(Priority))
    def priority(self) -> list[str]:
        return _one(self.facts.priority)

    @boolean_rule_variable("Resolved before the deadline")
    def timely(self) -> bool:
        return bool(self.facts.timely)

    @optional_numeric_rule_variable("Handling hours (received → resolved)")
    def handling_hours(self) -> Decimal | None:
        return self.facts.handling_hours

    @optional_numeric_rule_variable("Evaluation score (0–100)")
    def score(self) -> int | None:
        return self.facts.score

    @numeric_rule_variable("Redo count")
    def redo_count(self) -> int:
        return self.facts.redo_count


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


def evaluate(session: Session, subject: WorkOrder | ScoringFacts,
             rule_sets: list[LoadedRuleSet] | None = None) -> list[Fired]:
    facts = subject if isinstance(subject, ScoringFacts) else ScoringFacts.of_order(subject)
    sets = active_rule_sets(session, DOMAIN) if rule_sets is None else rule_sets
    return run(sets, ScoringVariables(facts), ScoringActions)


def score_record(session: Session, *, source_type: str, source_id: int, staff_id: int,
                 facts: ScoringFacts, order_id: int | None = None, label: str | None = None,
                 at: dt.datetime | None = None) -> list[WorkPointEntry]:
    """Book the work points the active scoring rules give for one piece of work.

    The visits, on-site records and inspections of other rooms call this when they are
    recorded (``facts.source_type`` names the kind); evaluated orders come through the hook.
    """
    sets = active_rule_sets(session, DOMAIN)
    if not sets:
        return []
    facts.source_type = source_type
    fired = evaluate(session, facts, sets)
    entries = []
    for line in bookings(fired):
        if line.points == 0:
            continue
        entry = WorkPointEntry(
            staff_id=staff_id, source_type=source_type, source_id=source_id, order_id=order_id,
            points=line.points, rule_set=line.rule_set, rule_name=line.rule,
            reason=f"{label or f'{source_type} {source_id}'}: {line.reason}",
            **({"created_at": at} if at else {}),
        )
        session.add(entry)
        entries.append(entry)
    record_firings(session, DOMAIN, source_type, source_id, fired)
    return entries


def score_evaluated_order(session: Session, order: WorkOrder, action: str, actor: Actor,
                          params: dict[str, Any]) -> None:
    """Workflow hook: book the work points of an order when it is evaluated."""
    if action != "evaluate" or order.assignee_id is None:
        return
    score_record(session, source_type="work_order", source_id=order.id, staff_id=order.assignee_id,
                 facts=ScoringFacts.of_order(order), order_id=order.id, label=order.number,
                 at=order.evaluated_at)
