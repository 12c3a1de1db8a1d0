"""Dry runs: which rules would fire on some orders or customers and what they would do.

Nothing is changed: actions only record effects, routing reads the round-robin cursor without
moving it, and the whole run happens inside a savepoint that is rolled back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.customer import Customer
from app.models.org import StaffProfile
from app.models.rules import RuleSet
from app.models.workorder import OPEN_STATES, WorkOrder
from app.rules import escalation, routing, scoring, targeting
from app.rules.engine import LoadedRuleSet, active_rule_sets, draft_rule_set, rule_set_at
from app.rules.store import get_rule_set
from app.workflow.errors import InvalidInput

MAX_SUBJECTS = 200


@dataclass
class DryRunRow:
    subject_id: int
    subject: str
    fired: list[str] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)
    # What the order would end up with (the editor shows these in the viewer's language):
    # priority and assignee after routing (else as they stand), the scoring rules' points, and
    # each fired rule's actions as data (rule key, action name, parameters).
    priority: str | None = None
    assignee: str | None = None
    points: Decimal | None = None
    supervision: str | None = None
    effects: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    order: dict[str, str] = field(default_factory=dict)  # number, channel, demand_type, content


def _rule_sets(session: Session, domain: str, rule_set_id: int | None,
               draft: list[dict[str, Any]] | None) -> list[LoadedRuleSet]:
    if draft is not None:
        return [draft_rule_set(domain, draft)]
    if rule_set_id:
        rule_set = get_rule_set(session, rule_set_id)
        if rule_set.domain != domain:
            raise InvalidInput(f"{rule_set.name} is not a {domain} rule set", field="rule_set")
        return [rule_set_at(session, rule_set)]
    return active_rule_sets(session, domain)


def _orders(session: Session, numbers: list[str], last_n: int | None, open_only: bool = False) -> list[WorkOrder]:
    if numbers:
        wanted = [n.strip() for n in numbers if n.strip()]
        ids = [int(n) for n in wanted if n.isdigit()]
        found = list(session.scalars(select(WorkOrder).where(
            WorkOrder.number.in_(wanted) | WorkOrder.id.in_(ids)).order_by(WorkOrder.id)))
        if not found:
            raise InvalidInput("no such work order: " + ", ".join(wanted), field="subjects")
        return found[:MAX_SUBJECTS]
    n = min(max(last_n or 20, 1), MAX_SUBJECTS)
    query = select(WorkOrder).order_by(WorkOrder.id.desc()).limit(n)
    if open_only:  # escalation only ever looks at open orders
        query = query.where(WorkOrder.state.in_(OPEN_STATES))
    return list(session.scalars(query))


def _customers(session: Session, numbers: list[str], last_n: int | None) -> list[Customer]:
    if numbers:
        wanted = [n.strip() for n in numbers if n.strip()]
        found = list(session.scalars(select(Customer).where(Customer.customer_no.in_(wanted))
                                     .order_by(Customer.id)))
        if not found:
            raise InvalidInput("no such customer: " + ", ".join(wanted), field="subjects")
        return found[:MAX_SUBJECTS]
    n = min(max(last_n or 20, 1), MAX_SUBJECTS)
    return list(session.scalars(select(Customer).order_by(Customer.id.desc()).limit(n)))


def dry_run(
    session: Session,
    domain: str,
    *,
    rule_set_id: int | None = None,
    draft: list[dict[str, Any]] | None = None,
    subjects: list[str] | None = None,
    last_n: int | None = None,
    period: str | None = None,
    now: dt.datetime | None = None,
) -> list[DryRunRow]:
    """Run a domain's active rule sets (or one rule set, or an unsaved draft) on orders or
    customers given by number, or on the last N of them, and describe what would happen."""
    if domain not in ("routing", "scoring", "escalation", "targeting"):
        raise InvalidInput(f"unknown rule domain: {domain}", field="domain")
    now = now or utcnow()
    savepoint = session.begin_nested()
    try:
        sets = _rule_sets(session, domain, rule_set_id, draft)
        if domain == "targeting":
            return _targeting(session, sets, subjects or [], last_n, period)
        rows = []
        for order in _orders(session, subjects or [], last_n, open_only=domain == "escalation"):
            row = DryRunRow(order.id, f"{order.number} · {order.channel} · {order.demand_type} · "
                                      f"{(order.content or '')[:30]}")
            row.priority, row.supervision = order.priority, order.supervision_level
            row.order = {"number": order.number, "channel": order.channel, "demand_type": order.demand_type,
                         "content": (order.content or "")[:30]}
            current = session.get(StaffProfile, order.assignee_id) if order.assignee_id else None
            row.assignee = current.name if current is not None else None
            if domain == "routing":
                fired = routing.evaluate(session, order, now, sets)
                outcome = routing.decide(session, order, fired, now, dry_run=True)
                row.outcome = outcome.notes or ["no change"]
                row.priority = outcome.decision.priority or row.priority
                if outcome.assignee is not None:
                    row.assignee = outcome.assignee.name
            elif domain == "scoring":
                fired = scoring.evaluate(session, order, sets)
                booked = scoring.bookings(fired)
                row.outcome = [f"{b.points:+} points ({b.rule_set}/{b.rule}: {b.reason})" for b in booked]
                row.points = sum((b.points for b in booked), Decimal(0))
            else:
                fired = escalation.evaluate(session, order, now, sets)
                row.outcome = [w for item in fired for w in escalation.describe(order, item)]
            row.fired = [f.key for f in fired]
            row.effects = [(f.key, e.action, dict(e.params)) for f in fired for e in f.effects]
            rows.append(row)
        return rows
    finally:
        savepoint.rollback()


def _targeting(session: Session, sets: list[LoadedRuleSet], subjects: list[str], last_n: int | None,
               period: str | None) -> list[DryRunRow]:
    customers = _customers(session, subjects, last_n)
    period = targeting.reference_period(session, period)
    facts = {f.id: f for f in targeting.load_facts(session, period, ids=[c.id for c in customers])}
    rows = []
    for customer in customers:
        row = DryRunRow(customer.id, f"{customer.customer_no} · {customer.name} · {customer.customer_type}")
        for loaded in sets:
            for rule in loaded.rules:
                if targeting.matches(rule, facts[customer.id]):
                    row.fired.append(f"{loaded.name}/{rule['name']}")
                    row.effects += [(f"{loaded.name}/{rule['name']}", "push_campaign", dict(c))
                                    for c in targeting.campaigns_of(rule)]
                    row.outcome += [f"campaign {c.get('campaign')}: {c.get('template')}"
                                    for c in targeting.campaigns_of(rule)]
        rows.append(row)
    return rows


def rule_set_choices(session: Session, domain: str) -> list[RuleSet]:
    return list(session.scalars(select(RuleSet).where(RuleSet.domain == domain).order_by(RuleSet.name)))
