"""Rule sets as versioned data: save (always a new version), activate, roll back, compare.

Nothing here commits; the caller does.  A refused rule set (``RuleValidationError``) leaves
the database exactly as it was, so the active version keeps running.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.rules import RuleDomain, RuleSet, RuleSetVersion
from app.rules.engine import clear_cache
from app.rules.validation import check_rules
from app.workflow.errors import InvalidInput, NotFound


def _domain(domain: str) -> str:
    try:
        return RuleDomain(domain).value
    except ValueError:
        raise InvalidInput(f"unknown rule domain: {domain}", field="domain") from None


def get_rule_set(session: Session, rule_set_id: int) -> RuleSet:
    rule_set = session.get(RuleSet, rule_set_id)
    if rule_set is None:
        raise NotFound(f"rule set {rule_set_id} not found")
    return rule_set


def find_rule_set(session: Session, domain: str, name: str) -> RuleSet | None:
    return session.scalar(select(RuleSet).where(RuleSet.domain == domain, RuleSet.name == name))


def version_of(session: Session, rule_set: RuleSet, number: int | None = None) -> RuleSetVersion:
    number = number or rule_set.version
    found = session.scalar(select(RuleSetVersion).where(
        RuleSetVersion.rule_set_id == rule_set.id, RuleSetVersion.version == number))
    if found is None:
        raise NotFound(f"rule set {rule_set.name} has no version {number}")
    return found


def save_rule_set(
    session: Session,
    *,
    domain: str,
    name: str,
    rules: Any,
    author: str,
    priority: int = 100,
    active: bool | None = None,
    description: str | None = None,
    comment: str | None = None,
    rule_set_id: int | None = None,
) -> RuleSet:
    """Create a rule set or save a new version of one; refuses invalid rules."""
    domain = _domain(domain)
    name = (name or "").strip()
    if not name:
        raise InvalidInput("the rule set needs a name", field="name")
    if len(name) > 128:
        raise InvalidInput("the name is longer than 128 characters", field="name")
    if isinstance(priority, bool) or not isinstance(priority, int) or not -1000 <= priority <= 1000:
        raise InvalidInput("priority must be a whole number between -1000 and 1000", field="priority")
    check_rules(domain, rules, session)

    if rule_set_id is not None:
        rule_set = get_rule_set(session, rule_set_id)
        if rule_set.domain != domain:
            raise InvalidInput("a rule set cannot change its domain", field="domain")
    else:
        rule_set = None
    clash = find_rule_set(session, domain, name)
    if clash is not None and clash is not rule_set:
        raise InvalidInput(f"a {domain} rule set named {name!r} already exists", field="name")
    now = utcnow()
    if rule_set is None:
        rule_set = RuleSet(domain=domain, name=name, version=0, active=bool(active))
        session.add(rule_set)
        session.flush()
    rule_set.name = name
    rule_set.priority = priority
    if description is not None:
        rule_set.description = description
    if active is not None:
        rule_set.active = active
    rule_set.version = (rule_set.version or 0) + 1
    rule_set.updated_by = author
    rule_set.updated_at = now
    session.add(RuleSetVersion(rule_set_id=rule_set.id, version=rule_set.version, rules=rules,
                               priority=priority, author=author, comment=comment, created_at=now))
    session.flush()
    clear_cache()  # this process reads the stamp again at its next run
    return rule_set


def set_active(session: Session, rule_set_id: int, active: bool, author: str) -> RuleSet:
    """Switch a rule set on or off; switching on re-checks its rules against today's data."""
    rule_set = get_rule_set(session, rule_set_id)
    if active:
        check_rules(rule_set.domain, version_of(session, rule_set).rules, session)
    rule_set.active = active
    rule_set.updated_by = author
    rule_set.updated_at = utcnow()
    session.flush()
    clear_cache()
    return rule_set


def rollback(session: Session, rule_set_id: int, to_version: int, author: str) -> RuleSet:
    """Restore an earlier version's rules and priority — as a new version, history intact."""
    rule_set = get_rule_set(session, rule_set_id)
    old = version_of(session, rule_set, to_version)
    return save_rule_set(
        session, domain=rule_set.domain, name=rule_set.name, rules=old.rules, author=author,
        priority=old.priority, rule_set_id=rule_set.id, comment=f"rollback to version {to_version}",
    )


@dataclass
class Diff:
    added: list[str]
    removed: list[str]
    changed: list[str]
    lines: list[str]


def diff(session: Session, rule_set_id: int, a: int, b: int) -> Diff:
    """What changed from version ``a`` to version ``b``: rules added, removed, changed, and a
    unified diff of the pretty-printed JSON."""
    rule_set = get_rule_set(session, rule_set_id)
    old, new = version_of(session, rule_set, a), version_of(session, rule_set, b)
    old_rules = {r.get("name"): r for r in old.rules}
    new_rules = {r.get("name"): r for r in new.rules}
    added = [n for n in new_rules if n not in old_rules]
    removed = [n for n in old_rules if n not in new_rules]
    changed = [n for n in new_rules if n in old_rules and new_rules[n] != old_rules[n]]
    if old.priority != new.priority:
        changed.append(f"priority {old.priority} → {new.priority}")

    def pretty(version: RuleSetVersion) -> list[str]:
        body = {"priority": version.priority, "rules": version.rules}
        return json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True).splitlines()

    lines = list(difflib.unified_diff(pretty(old), pretty(new), f"version {a}", f"version {b}",
                                      lineterm=""))
    return Diff(added, removed, changed, lines)
