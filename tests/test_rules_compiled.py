"""Compiled conditions (app/rules/engine.py) mean what business-rules means: the same verdict
as its ``check_conditions_recursively`` on random rules over every operator of every field
type, the same kind of error for a bad rule, and each variable read once per run."""

from __future__ import annotations

import random

import pytest
from business_rules.engine import check_conditions_recursively
from business_rules.variables import (
    BaseVariables,
    boolean_rule_variable,
    numeric_rule_variable,
    select_multiple_rule_variable,
    select_rule_variable,
    string_rule_variable,
)

from app.rules.base import RecordingActions
from app.rules.engine import LoadedRuleSet, Operands, compile_conditions, run

WORDS = ["电压", "停电", "abc", "ABC", "", "表计", "x1"]
OPERATORS = {
    "text": ["equal_to", "starts_with", "ends_with", "contains", "matches_regex", "non_empty"],
    "number": ["equal_to", "greater_than", "less_than", "greater_than_or_equal_to", "less_than_or_equal_to"],
    "flag": ["is_true", "is_false"],
    "choice": ["contains", "does_not_contain"],
    "tags": ["contains_all", "is_contained_by", "shares_at_least_one_element_with",
             "shares_exactly_one_element_with", "shares_no_elements_with"],
}


class Facts(BaseVariables):
    reads: dict[str, int]

    def __init__(self, rng: random.Random) -> None:
        self.values = {"text": rng.choice(WORDS) + rng.choice(WORDS), "number": rng.randint(-3, 3),
                       "flag": rng.random() < 0.5, "choice": rng.choice(WORDS),
                       "tags": rng.sample(WORDS, rng.randint(0, 3))}
        self.reads = {}

    def _read(self, name: str):  # noqa: ANN202
        self.reads[name] = self.reads.get(name, 0) + 1
        return self.values[name]

    @string_rule_variable()
    def text(self):  # noqa: ANN201
        return self._read("text")

    @numeric_rule_variable()
    def number(self):  # noqa: ANN201
        return self._read("number")

    @boolean_rule_variable()
    def flag(self):  # noqa: ANN201
        return self._read("flag")

    @select_rule_variable(options=WORDS)
    def choice(self):  # noqa: ANN201
        return self._read("choice")

    @select_multiple_rule_variable(options=WORDS)
    def tags(self):  # noqa: ANN201
        return self._read("tags")


def _condition(rng: random.Random) -> dict:
    name = rng.choice(list(OPERATORS))
    value = {"text": rng.choice(WORDS + ["^电", "B$"]), "number": rng.randint(-3, 3), "flag": None,
             "choice": rng.choice(WORDS), "tags": rng.sample(WORDS, rng.randint(0, 3))}[name]
    return {"name": name, "operator": rng.choice(OPERATORS[name]), "value": value}


def _tree(rng: random.Random, depth: int = 0) -> dict:
    if depth >= 2 or rng.random() < 0.3:
        return _condition(rng)
    return {rng.choice(["all", "any"]): [_tree(rng, depth + 1) for _ in range(rng.randint(1, 4))]}


def _outcome(fn):  # noqa: ANN001, ANN202
    """True or False (a rule fires on a true value: ``matches_regex`` gives a match), or the
    kind of error."""
    try:
        return bool(fn())
    except Exception as error:  # noqa: BLE001  (the kind of error is compared)
        return type(error)


def test_compiled_conditions_agree_with_business_rules_on_random_rules() -> None:
    rng = random.Random(20261202)
    for _ in range(3000):
        tree, facts = _tree(rng), Facts(rng)
        expected = _outcome(lambda: check_conditions_recursively(tree, facts))
        got = _outcome(lambda: compile_conditions(tree)(Operands(facts)))
        assert got == expected, (tree, facts.values)


@pytest.mark.parametrize("tree", [
    {"all": []},                                                # an empty "all"
    {"all": [{"name": "text", "operator": "contains", "value": "a"}], "any": []},
    {"name": "nothing", "operator": "equal_to", "value": 1},    # no such variable
    {"name": "number", "operator": "contains", "value": 1},     # no such operator for the type
])
def test_a_bad_rule_fails_as_business_rules_fails(tree: dict) -> None:
    facts = Facts(random.Random(1))
    with pytest.raises(AssertionError):
        check_conditions_recursively(tree, facts)
    with pytest.raises(AssertionError):
        compile_conditions(tree)(Operands(facts))


def test_a_run_reads_each_variable_once_and_skips_a_bad_rule() -> None:
    rules = [{"name": f"r{i}", "conditions": {"all": [
        {"name": "text", "operator": "contains", "value": "电"},
        {"name": "number", "operator": "greater_than", "value": i - 50}]},
        "actions": []} for i in range(50)]
    rules.insert(3, {"name": "bad", "conditions": {"all": []}, "actions": []})
    facts = Facts(random.Random(2))
    facts.values.update(text="电压偏低", number=0)
    fired = run([LoadedRuleSet(1, "set", 1, 0, tuple(rules))], facts, RecordingActions)
    assert [f.rule for f in fired] == [f"r{i}" for i in range(50) if 0 > i - 50]
    assert facts.reads == {"text": 1, "number": 1}
    assert "flag" not in facts.reads  # a variable no condition names is never read
