"""Server-side validation of rule JSON, before anything is saved or activated.

business-rules itself only finds a bad variable or operator when a rule runs, and then with a
bare ``AssertionError``; here every problem is reported with the path of the condition or
action it is in (``conditions.all[1]: unknown operator 'foo' for variable 'channel'``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from business_rules.fields import (
    FIELD_NO_INPUT,
    FIELD_NUMERIC,
    FIELD_SELECT,
    FIELD_SELECT_MULTIPLE,
    FIELD_TEXT,
)
from sqlalchemy.orm import Session

from app.rules.base import DomainSpec, get_domain
from app.workflow.errors import InvalidInput

MAX_RULES = 200
MAX_DEPTH = 8


class RuleValidationError(InvalidInput):
    """The rule set is refused; ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors[:5]) + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""),
                         field="rules")
        self.errors = errors


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _names(option_list: list[Any]) -> set[Any]:
    return {o["name"] if isinstance(o, dict) else o for o in option_list}


class _Checker:
    def __init__(self, spec: DomainSpec, session: Session | None) -> None:
        data = spec.export(session)
        self.variables = {v["name"]: v for v in data["variables"]}
        self.operators = {
            type_name: {op["name"]: op for op in ops}
            for type_name, ops in data["variable_type_operators"].items()
        }
        self.actions = {a["name"]: a for a in data["actions"]}
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def value(self, where: str, variable: dict[str, Any], input_type: str, value: Any) -> None:
        name = variable["name"]
        allowed = _names(variable.get("options") or [])
        if input_type == FIELD_NO_INPUT:
            return
        if input_type == FIELD_NUMERIC:
            if not _is_number(value):
                self.fail(where, f"the value for '{name}' must be a number, not {value!r}")
        elif input_type == FIELD_TEXT:
            if not isinstance(value, str) or not value:
                self.fail(where, f"the value for '{name}' must be a non-empty text, not {value!r}")
        elif input_type == FIELD_SELECT:
            if isinstance(value, (list, dict)) or value is None:
                self.fail(where, f"the value for '{name}' must be one option, not {value!r}")
            elif allowed and value not in allowed:
                self.fail(where, f"{value!r} is not an option of '{name}'")
        elif input_type == FIELD_SELECT_MULTIPLE:
            if not isinstance(value, list) or any(isinstance(v, (list, dict)) for v in value):
                self.fail(where, f"the value for '{name}' must be a list of options, not {value!r}")
            elif len(set(map(str, value))) != len(value):
                self.fail(where, f"the value for '{name}' names an option twice")
            elif allowed and not set(map(str, value)) <= {str(a) for a in allowed}:
                unknown = [v for v in value if v not in allowed]
                self.fail(where, f"{unknown[0]!r} is not an option of '{name}'")

    def conditions(self, where: str, node: Any, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self.fail(where, f"conditions are nested deeper than {MAX_DEPTH} levels")
            return
        if not isinstance(node, dict):
            self.fail(where, "a condition must be an object")
            return
        keys = set(node)
        for group in ("all", "any"):
            if group in keys:
                if keys != {group}:
                    self.fail(where, f"'{group}' must be the only key of its group")
                    return
                children = node[group]
                if not isinstance(children, list) or not children:
                    self.fail(f"{where}.{group}", "a group needs at least one condition")
                    return
                for i, child in enumerate(children):
                    self.conditions(f"{where}.{group}[{i}]", child, depth + 1)
                return
        missing = {"name", "operator"} - keys
        if missing:
            self.fail(where, f"a condition needs {' and '.join(sorted(missing))}")
            return
        variable = self.variables.get(node["name"])
        if variable is None:
            self.fail(where, f"unknown variable '{node['name']}'")
            return
        operator = self.operators.get(variable["field_type"], {}).get(node["operator"])
        if operator is None:
            self.fail(where, f"unknown operator '{node['operator']}' for variable '{node['name']}'")
            return
        if operator["input_type"] != FIELD_NO_INPUT and "value" not in node:
            self.fail(where, f"the condition on '{node['name']}' needs a value")
            return
        self.value(where, variable, operator["input_type"], node.get("value"))
        if node["operator"] == "matches_regex" and isinstance(node.get("value"), str):
            try:
                re.compile(node["value"])
            except re.error as error:
                self.fail(where, f"invalid regular expression: {error}")

    def action(self, where: str, node: Any) -> None:
        if not isinstance(node, dict) or "name" not in node:
            self.fail(where, "an action must be an object with a name")
            return
        spec = self.actions.get(node["name"])
        if spec is None:
            self.fail(where, f"unknown action '{node['name']}'")
            return
        params = node.get("params") or {}
        if not isinstance(params, dict):
            self.fail(where, "params must be an object")
            return
        declared = {p["name"]: p for p in spec["params"] or []}
        for extra in sorted(set(params) - set(declared)):
            self.fail(f"{where}.params.{extra}", f"unknown parameter of action '{node['name']}'")
        for name, param in declared.items():
            here = f"{where}.params.{name}"
            if name not in params:
                self.fail(here, f"action '{node['name']}' needs '{name}'")
                continue
            value, kind = params[name], param["fieldType"]
            allowed = _names(param.get("options") or [])
            if kind == FIELD_NUMERIC:
                if not _is_number(value):
                    self.fail(here, f"'{name}' must be a number, not {value!r}")
                elif value < 0:
                    self.fail(here, f"'{name}' must not be negative")
            elif kind == FIELD_TEXT:
                if not isinstance(value, str) or not value.strip():
                    self.fail(here, f"'{name}' must be a non-empty text, not {value!r}")
            elif kind == FIELD_SELECT:
                if isinstance(value, (list, dict)) or (allowed and value not in allowed):
                    self.fail(here, f"{value!r} is not an option of '{name}'")
            elif kind == FIELD_SELECT_MULTIPLE:
                if not isinstance(value, list) or not value or (allowed and not set(value) <= allowed):
                    self.fail(here, f"'{name}' must be a non-empty list of its options, not {value!r}")


def validate_rules(domain: str, rules: Any, session: Session | None = None) -> list[str]:
    """Every problem of ``rules`` (a list of business-rules rules), or an empty list.

    With a session, options kept in the database (grids, staff, teams, tags) are checked too.
    """
    spec = get_domain(domain)
    if not isinstance(rules, list):
        return ["rules: must be a list of rules"]
    if len(rules) > MAX_RULES:
        return [f"rules: at most {MAX_RULES} rules in one rule set"]
    checker = _Checker(spec, session)
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict):
            checker.fail(f"rules[{i}]", "a rule must be an object")
            continue
        name = rule.get("name")
        label = f"rule {i + 1}" + (f" '{name}'" if name else "")
        if not isinstance(name, str) or not name.strip():
            checker.fail(label, "a rule needs a name")
        elif name in seen:
            checker.fail(label, "two rules have the same name")
        else:
            seen.add(name)
        extra = set(rule) - {"name", "conditions", "actions", "stop"}
        if extra:
            checker.fail(label, f"unknown key '{sorted(extra)[0]}'")
        if "conditions" not in rule:
            checker.fail(f"{label}: conditions", "a rule needs conditions")
        else:
            before = len(checker.errors)
            checker.conditions("conditions", rule["conditions"])
            checker.errors[before:] = [f"{label}: {e}" for e in checker.errors[before:]]
        actions = rule.get("actions")
        if not isinstance(actions, list) or not actions:
            checker.fail(f"{label}: actions", "a rule needs at least one action")
        else:
            before = len(checker.errors)
            for j, action in enumerate(actions):
                checker.action(f"actions[{j}]", action)
            checker.errors[before:] = [f"{label}: {e}" for e in checker.errors[before:]]
        if "stop" in rule and not isinstance(rule["stop"], bool):
            checker.fail(f"{label}: stop", "must be true or false")
    return checker.errors


def check_rules(domain: str, rules: Any, session: Session | None = None) -> None:
    errors = validate_rules(domain, rules, session)
    if errors:
        raise RuleValidationError(errors)
