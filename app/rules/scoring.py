"""Work-point scoring rules over every scoring event: an evaluated work order, a completed
task, a visit, an on-site service, safety or equipment record, a rectified box–meter anomaly.

Each event books ONE ``WorkPointEntry`` per active rule set that fired for it, for the person
who did the work, naming the rule set and its version, the rules that fired (with each one's
share in ``lines``) and the facts the rules read, so every point can be explained.  A
multiplication applies to the points this event has earned so far in the same run.

Exactly once: an event whose source already holds a live (not reversed) entry books nothing;
reopening an order or sending it back for redo books a reversal of its live entries first
(``reverse_order``), so evaluating it again brings its total back to one evaluation.

Merged duplicates and outage children earn only what a rule about them says: for such an
order only the rules whose conditions name ``order_link`` are checked (the default rule set
has none, so they earn nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
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
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from app.models.base import utcnow
from app.models.points import EntryKind, WorkPointEntry
from app.models.workorder import Channel, DemandType, OrderState, Priority, WorkOrder
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


SOURCE_TYPES = options([("work_order", "Work order"), ("task", "Completed task"), ("visit", "Visit"),
                        ("service_record", "On-site service record"), ("safety_record", "Safety supervision record"),
                        ("equipment_record", "Equipment collection record"),
                        ("anomaly", "Box–meter anomaly rectified"),
                        ("onsite_record", "On-site record"), ("inspection", "Inspection")])
# How an order hangs on another: on its own, merged into an earlier duplicate, or a child of an
# outage parent (which is resolved, verified and evaluated for it).
ORDER_LINKS = options([("none", "On its own"), ("merged_duplicate", "Merged duplicate"),
                       ("outage_child", "Outage child")])
LINK_VARIABLE = "order_link"


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
    order_link: str = "none"
    photo_count: int = 0
    task_points: Decimal | None = None

    @classmethod
    def of_order(cls, order: WorkOrder) -> "ScoringFacts":
        hours = None
        if order.resolved_at is not None and order.received_at is not None:
            seconds = (order.resolved_at - order.received_at).total_seconds()
            hours = (Decimal(seconds) / Decimal(3600)).quantize(CENT)
        return cls("work_order", order.demand_type, order.channel, order.priority, order.timely, hours,
                   order.score, order.redo_count or 0, order_link(order))

    def plain(self) -> dict[str, Any]:
        """The facts as JSON values, kept on the ledger entry."""
        return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def order_link(order: WorkOrder) -> str:
    if order.parent_id is None:
        return "none"
    # A merged duplicate hangs on the earlier order it was flagged against; an outage child on
    # the synthetic parent the grouping made.
    return "merged_duplicate" if order.duplicate_of_id == order.parent_id else "outage_child"


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

    @select_rule_variable("Merged duplicate or outage child", options=ORDER_LINKS)
    def order_link(self) -> list[str]:
        return [self.facts.order_link]

    @numeric_rule_variable("Photos attached (visits and on-site records)")
    def photo_count(self) -> int:
        return self.facts.photo_count

    @optional_numeric_rule_variable("The task's own work points (its template)")
    def task_points(self) -> Decimal | None:
        return self.facts.task_points


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

    @rule_action("Award the task's own work points (its template)")
    def award_task_points(self) -> None:
        self._record("award_task_points")


SPEC = register_domain(DomainSpec(DOMAIN, "work_order", ScoringVariables, ScoringActions))


@dataclass
class Booking:
    rule_set: str
    rule: str
    points: Decimal
    reason: str


def bookings(fired: list[Fired], facts: ScoringFacts | None = None) -> list[Booking]:
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
            elif effect.action == "award_task_points":
                amount = Decimal(str((facts.task_points if facts else None) or 0)).quantize(CENT)
                reason = f"task {amount}"
            elif effect.action == "multiply":
                factor = Decimal(str(effect.params["factor"]))
                amount = (total * (factor - 1)).quantize(CENT)
                reason = f"× {factor} of {total}"
            else:
                continue
            total += amount
            lines.append(Booking(item.rule_set, item.rule, amount, reason))
    return lines


def _names(conditions: Any, variable: str) -> bool:
    if isinstance(conditions, dict):
        if conditions.get("name") == variable:
            return True
        return any(_names(c, variable) for key in ("all", "any") for c in conditions.get(key, []))
    return False


def _for_linked_orders(sets: list[LoadedRuleSet]) -> list[LoadedRuleSet]:
    """Only the rules that say something about merged duplicates or outage children."""
    return [LoadedRuleSet(s.id, s.name, s.version, s.priority,
                          tuple(r for r in s.rules if _names(r.get("conditions"), LINK_VARIABLE)))
            for s in sets]


def evaluate(session: Session, subject: WorkOrder | ScoringFacts,
             rule_sets: list[LoadedRuleSet] | None = None) -> list[Fired]:
    facts = subject if isinstance(subject, ScoringFacts) else ScoringFacts.of_order(subject)
    sets = active_rule_sets(session, DOMAIN) if rule_sets is None else rule_sets
    if facts.order_link != "none":
        sets = _for_linked_orders(sets)
    return run(sets, ScoringVariables(facts), ScoringActions)


# --- the ledger ------------------------------------------------------------------------------
def live_entries(session: Session, *, source_type: str | None = None, source_id: int | None = None,
                 order_id: int | None = None) -> list[WorkPointEntry]:
    """The points entries of a source (or of an order) that no reversal has cancelled."""
    reversal = aliased(WorkPointEntry)
    query = select(WorkPointEntry).where(
        WorkPointEntry.kind == EntryKind.POINTS.value,
        ~select(reversal.id).where(reversal.reverses_id == WorkPointEntry.id).exists())
    if source_type is not None:
        query = query.where(WorkPointEntry.source_type == source_type, WorkPointEntry.source_id == source_id)
    if order_id is not None:
        query = query.where(WorkPointEntry.order_id == order_id)
    return list(session.scalars(query.order_by(WorkPointEntry.id)))


def score_record(session: Session, *, source_type: str, source_id: int, staff_id: int,
                 facts: ScoringFacts, order_id: int | None = None, label: str | None = None,
                 at: dt.datetime | None = None) -> list[WorkPointEntry]:
    """Book the work points the active scoring rules give for one scoring event: one entry per
    rule set that fired, none if its source already holds live points (exactly once).

    The visits and on-site records call this when they are recorded (``facts.source_type``
    names the kind); evaluated orders and completed tasks come through the workflow hook.
    """
    session.flush()
    if live_entries(session, source_type=source_type, source_id=source_id):
        return []
    sets = active_rule_sets(session, DOMAIN)
    if not sets:
        return []
    facts.source_type = source_type
    fired = evaluate(session, facts, sets)
    versions = {item.rule_set: item.version for item in fired}
    grouped: dict[str, list[Booking]] = {}
    for line in bookings(fired, facts):
        grouped.setdefault(line.rule_set, []).append(line)
    entries = []
    for rule_set, lines in grouped.items():
        names = list(dict.fromkeys(line.rule for line in lines))
        entry = WorkPointEntry(
            staff_id=staff_id, kind=EntryKind.POINTS.value, source_type=source_type, source_id=source_id,
            order_id=order_id, points=sum((line.points for line in lines), Decimal(0)),
            rule_set=rule_set, rule_set_version=versions.get(rule_set), rule_name="、".join(names)[:255],
            lines=[{"rule": line.rule, "points": float(line.points), "reason": line.reason} for line in lines],
            facts=facts.plain(),
            reason=f"{label or f'{source_type} {source_id}'}: {'; '.join(line.reason for line in lines)}",
            created_at=at or utcnow(),
        )
        session.add(entry)
        entries.append(entry)
    record_firings(session, DOMAIN, source_type, source_id, fired)
    session.flush()
    return entries


def reverse_order(session: Session, order: WorkOrder, why: str, at: dt.datetime | None = None) -> list[WorkPointEntry]:
    """Cancel the live points of an order (its evaluation, its task completion) with one
    reversal entry each, booked now: the month they were earned in keeps its figures."""
    reversals = []
    for entry in live_entries(session, order_id=order.id):
        reversal = WorkPointEntry(
            staff_id=entry.staff_id, kind=EntryKind.REVERSAL.value, source_type=entry.source_type,
            source_id=entry.source_id, order_id=entry.order_id, points=-entry.points,
            rule_set=entry.rule_set, rule_set_version=entry.rule_set_version, rule_name=entry.rule_name,
            lines=entry.lines, facts=entry.facts, reverses_id=entry.id,
            reason=f"{order.number}: {why}, reverses entry {entry.id}", created_at=at or utcnow(),
        )
        session.add(reversal)
        reversals.append(reversal)
    session.flush()
    return reversals


def score_order_event(session: Session, order: WorkOrder, action: str, actor: Actor,
                      params: dict[str, Any]) -> None:
    """Workflow hook: an evaluated order is scored (a task when it is completed, see
    ``app/channels/tasks.py``); an order reopened within the window, or sent back for redo by
    an unsatisfied return visit, has its live entries reversed first."""
    if action == "evaluate" and order.assignee_id is not None and order.channel != Channel.TASK.value:
        score_record(session, source_type="work_order", source_id=order.id, staff_id=order.assignee_id,
                     facts=ScoringFacts.of_order(order), order_id=order.id, label=order.number,
                     at=order.evaluated_at)
    elif action == "reopen" and order.state != OrderState.EVALUATED.value:
        reverse_order(session, order, "reopen", order.updated_at)
    elif action == "callback" and order.state == OrderState.ACCEPTED.value:
        reverse_order(session, order, "redo", order.updated_at)
