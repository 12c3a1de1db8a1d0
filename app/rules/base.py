"""What every rule domain shares: the domain registry, typed variables that may be unknown,
and actions that only *record* what they would do.

Actions never touch the database themselves: running a rule collects ``Effect``s, and each
domain applies them afterwards (or, in a dry run, only describes them).  That is what makes
a dry run change nothing, and what lets the engine say which rule asked for what.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from business_rules.actions import BaseActions
from business_rules.fields import FIELD_NUMERIC
from business_rules.operators import NumericType, type_operator
from business_rules.utils import export_rule_data
from business_rules.variables import BaseVariables, rule_variable
from sqlalchemy.orm import Session


class OptionalNumericType(NumericType):
    """A numeric variable whose value may be unknown (no bill that month, no deadline):
    every comparison with an unknown value is false, as ``NULL > 5`` is in SQL."""

    name = "numeric"

    def __init__(self, value: Any) -> None:
        self.value = None if value is None else self._assert_valid_value_and_cast(value)


def _nullable(op_name: str) -> Any:
    base = getattr(NumericType, op_name)

    @type_operator(FIELD_NUMERIC, label=base.label)
    def operator(self: OptionalNumericType, other: Decimal) -> bool:
        if self.value is None:
            return False
        return bool(base.__wrapped__(self, other))

    operator.__name__ = op_name
    return operator


for _op in ("equal_to", "greater_than", "greater_than_or_equal_to", "less_than",
            "less_than_or_equal_to"):
    setattr(OptionalNumericType, _op, _nullable(_op))


def optional_numeric_rule_variable(label: str | None = None) -> Any:
    return rule_variable(OptionalNumericType, label=label)


def options(pairs: Any) -> list[dict[str, str]]:
    """Options for select variables and action parameters: ``[{"name", "label"}]``."""
    return [{"name": value, "label": label} for value, label in pairs]


def enum_options(enum_class: Any) -> list[dict[str, str]]:
    return options((m.value, m.label) for m in enum_class)


@dataclass
class Effect:
    action: str
    params: dict[str, Any] = field(default_factory=dict)


class RecordingActions(BaseActions):
    """Actions as data: each call appends an ``Effect``; the domain applies them later."""

    def __init__(self) -> None:
        self.effects: list[Effect] = []

    def _record(self, action: str, **params: Any) -> None:
        self.effects.append(Effect(action, params))


@dataclass
class DomainSpec:
    """One rule domain: what its rules may look at, what they may ask for.

    ``dynamic_options(session)`` adds the options that live in the database (grid codes,
    tags, staff, teams) keyed ``"var:<variable>"`` or ``"param:<parameter>"``.
    """

    name: str
    subject: str
    variables: type[BaseVariables]
    actions: type[RecordingActions]
    dynamic_options: Callable[[Session], dict[str, list[dict[str, str]]]] | None = None

    def export(self, session: Session | None = None) -> dict[str, Any]:
        """``export_rule_data`` plus the database's options: what the editor's drop-downs show."""
        data = export_rule_data(self.variables, self.actions)
        extra = self.dynamic_options(session) if (session is not None and self.dynamic_options) else {}
        for variable in data["variables"]:
            if f"var:{variable['name']}" in extra:
                variable["options"] = extra[f"var:{variable['name']}"]
        for action in data["actions"]:
            params = []
            for param in action["params"] or []:
                param = dict(param)
                if f"param:{param['name']}" in extra:
                    param["options"] = extra[f"param:{param['name']}"]
                params.append(param)
            action["params"] = params
        return data


DOMAINS: dict[str, DomainSpec] = {}


def register_domain(spec: DomainSpec) -> DomainSpec:
    DOMAINS[spec.name] = spec
    return spec


def get_domain(name: str) -> DomainSpec:
    from app.rules import escalation, routing, scoring, targeting  # noqa: F401  (registers them)
    from app.workflow.errors import InvalidInput

    try:
        return DOMAINS[name]
    except KeyError:
        raise InvalidInput(f"unknown rule domain: {name}", field="domain") from None
