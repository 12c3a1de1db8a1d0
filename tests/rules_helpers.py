"""Helpers for the rules tests: rule sets saved the way the editor saves them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.rules import store
from app.workflow.calendar import LOCAL_TZ

# Monday 30 November 2026, 10:00 in Shanghai: a working day.
MONDAY_10 = dt.datetime(2026, 11, 30, 10, 0, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)


def cond(name: str, operator: str, value: Any = None) -> dict[str, Any]:
    return {"name": name, "operator": operator, "value": value}


def act(name: str, **params: Any) -> dict[str, Any]:
    return {"name": name, "params": params}


def rule(name: str, conditions: dict[str, Any], *actions: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "conditions": conditions, "actions": list(actions), **extra}


def save(session: Any, domain: str, name: str, rules: list[dict[str, Any]], *, active: bool = True,
         priority: int = 100, rule_set_id: int | None = None) -> Any:
    rule_set = store.save_rule_set(session, domain=domain, name=name, rules=rules, author="admin",
                                   priority=priority, active=active, rule_set_id=rule_set_id)
    session.commit()
    return rule_set


HOTLINE_POWER_CUT = rule(
    "12345停电投诉",
    {"all": [cond("channel", "contains", "hotline_12345"),
             cond("demand_type", "contains", "complaint"),
             cond("content", "contains", "停电")]},
    act("escalate_to_station_manager"),
    act("set_deadline_working_days", days=1),
)
