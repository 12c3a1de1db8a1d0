"""Rules in words, in the viewer's language: what the version diff and the dry run show
instead of raw JSON.  The words come from the domain's exported rule data (the editor's own
drop-down labels, translated), so a rule reads the way it was built:
"如果 同时满足：渠道 等于 12345政务热线，则 设置优先级（优先级：紧急）"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import gettext

from app.models.workorder import Channel, DemandType, Priority, SupervisionLevel


class RuleWords:
    """Labels of one domain's variables, operators, actions and options (translated)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.variables = {v["name"]: v for v in data["variables"]}
        self.operators = {(kind, o["name"]): o for kind, ops in data["variable_type_operators"].items() for o in ops}
        self.actions = {a["name"]: a for a in data["actions"]}

    @staticmethod
    def _option(options: Any, value: Any) -> str:
        for option in options or []:
            if isinstance(option, dict) and option.get("name") == value:
                return str(option.get("label") or value)
        return str(value)

    def _value(self, options: Any, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):
            return "、".join(self._option(options, v) for v in value)
        if isinstance(value, bool):
            return gettext("Yes") if value else gettext("No")
        return self._option(options, value)

    def condition(self, node: Any) -> str:
        if not isinstance(node, dict):
            return str(node)
        if "all" in node or "any" in node:
            kind = "all" if "all" in node else "any"
            parts = [self.condition(child) for child in node[kind] or []]
            if not parts:
                return gettext("always")
            if len(parts) == 1:
                return parts[0]
            joiner = gettext(" and ") if kind == "all" else gettext(" or ")
            return "（" + joiner.join(parts) + "）"
        variable = self.variables.get(node.get("name"), {})
        operator = self.operators.get((variable.get("field_type"), node.get("operator")), {})
        words = [str(variable.get("label") or node.get("name")), str(operator.get("label") or node.get("operator"))]
        value = self._value(variable.get("options"), node.get("value"))
        if value and operator.get("input_type") != "none":
            words.append(value)
        return " ".join(words)

    def action(self, name: str, params: dict[str, Any] | None) -> str:
        spec = self.actions.get(name, {})
        label = str(spec.get("label") or name)
        shown = []
        for param in spec.get("params") or []:
            if param["name"] in (params or {}):
                shown.append(f"{param.get('label') or param['name']}："
                             f"{self._value(param.get('options'), params[param['name']])}")
        return label + ("（" + "，".join(shown) + "）" if shown else "")

    def rule(self, rule: dict[str, Any]) -> str:
        actions = "；".join(self.action(a.get("name", ""), a.get("params")) for a in rule.get("actions") or [])
        text = gettext("If %(conditions)s, then %(actions)s", conditions=self.condition(rule.get("conditions") or {}),
                       actions=actions or gettext("nothing"))
        if rule.get("stop"):
            text += gettext("; then stop this rule set")
        return text


def rule_diff(words: RuleWords, old: Any, new: Any) -> list[dict[str, Any]]:
    """Rule by rule (by name), from version ``old`` to ``new``: added, removed, changed or
    unchanged, each in words; then the priority when it changed."""
    old_rules = {r.get("name"): r for r in old.rules}
    new_rules = {r.get("name"): r for r in new.rules}
    rows = []
    for name in [*new_rules, *(n for n in old_rules if n not in new_rules)]:
        before, after = old_rules.get(name), new_rules.get(name)
        status = ("added" if before is None else "removed" if after is None
                  else "unchanged" if before == after else "changed")
        rows.append({"name": name, "status": status,
                     "before": words.rule(before) if before is not None else None,
                     "after": words.rule(after) if after is not None else None})
    if old.priority != new.priority:
        rows.append({"name": gettext("Priority of the rule set"), "status": "changed",
                     "before": str(old.priority), "after": str(new.priority)})
    return rows


def dry_run_row(words: RuleWords, domain: str, row: Any) -> dict[str, Any]:
    """One sample order (or customer) of a dry run, in words: the resulting priority,
    assignee and points, and what each fired rule would do."""
    points = row.points if isinstance(row.points, Decimal) else None
    if domain == "targeting":
        lines = [gettext("%(rule)s: push campaign %(campaign)s", rule=key, campaign=params.get("campaign", ""))
                 for key, _action, params in row.effects]
    else:
        lines = [f"{key}：{words.action(action, params)}" for key, action, params in row.effects]
    if domain == "targeting":  # customers: no priority, assignee or points
        return {"subject": row.subject, "fired": row.fired, "priority": "", "assignee": "", "points": None,
                "supervision": "", "lines": lines or [gettext("No rule fires.")]}
    subject = row.subject
    if row.order:  # the order in words: number · 渠道 · 诉求类型 · content
        subject = " · ".join([row.order["number"], Channel.label_of(row.order["channel"]),
                              DemandType.label_of(row.order["demand_type"]), row.order["content"]])
    return {
        "subject": subject,
        "fired": row.fired,
        "priority": Priority.label_of(row.priority) if row.priority else "",
        "assignee": row.assignee or gettext("nobody (waits for dispatch)"),
        "points": None if points is None else f"{points:+.2f}",
        "supervision": SupervisionLevel.label_of(row.supervision) if row.supervision else "",
        "lines": lines or [gettext("No rule fires.")],
    }
