"""Targeting conditions compiled into SQLAlchemy expressions (SQL push-down).

Each variable with a SQL form maps a (operator, value) pair to a WHERE clause whose result is
exactly business-rules' own: numeric comparisons keep its epsilon (1e-6), shares are compared
by cross-multiplying instead of dividing (no rounding in SQL), a missing bill is NULL and so
false, as the Python side's unknown value is.  Variables without a SQL form (``address``:
string matching differs between databases — MariaDB compares case- and accent-insensitively)
stay as a *residual* condition evaluated per row on the SQL query's candidates.

An ``all`` group pushes its SQL-able members down and keeps the rest as residual; an ``any``
group is pushed down only when all its members are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from business_rules.operators import NumericType
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased

from app.models.customer import (
    Bill,
    Customer,
    CustomerTag,
    EnergyIntention,
    customer_intention_link,
    customer_tag_link,
)
from app.models.org import Grid
from app.rules.targeting import previous_period

EPS = NumericType.EPSILON
# The two bills a rule compares, aliased once: a fresh alias per rule builds its column
# collection anew and adapts every column it is asked for, most of the ~1.6 ms a rule took to
# compile (which decides the ratio to hand-written SQL when the query itself is short).
BILL_NOW = aliased(Bill, name="bill_now")
BILL_BEFORE = aliased(Bill, name="bill_before")


@dataclass
class Compiled:
    query: Any
    residual: dict[str, Any] | None
    pushed: int
    kept: int


def _number(value: Any) -> Decimal:
    # The same cast business-rules applies to a rule's value.
    return NumericType._assert_valid_value_and_cast(value)


class _Context:
    def __init__(self, session: Session, period: str) -> None:
        self.session = session
        self.period = period
        self.b0 = BILL_NOW
        self.b1 = BILL_BEFORE
        self.uses_b0 = False
        self.uses_b1 = False
        self.pushed = 0
        self.kept = 0
        self.pushed_nodes: set[int] = set()  # id() of each leaf condition given a SQL form


def _ratio_compare(op: str, num: Any, den: Any, value: Any) -> ColumnElement[bool]:
    """``num/den <op> value`` with business-rules' epsilon, for den > 0, without dividing."""
    v = _number(value)
    if op == "greater_than":
        return num > (v + EPS) * den
    if op == "less_than":
        return num < (v - EPS) * den
    if op == "greater_than_or_equal_to":
        return num >= (v - EPS) * den
    if op == "less_than_or_equal_to":
        return num <= (v + EPS) * den
    if op == "equal_to":
        return and_(num >= (v - EPS) * den, num <= (v + EPS) * den)
    raise KeyError(op)


def _plain(column: Callable[[_Context], Any], uses: str) -> Callable[[_Context, str, Any], Any]:
    def build(ctx: _Context, op: str, value: Any) -> Any:
        setattr(ctx, uses, True)
        return _ratio_compare(op, column(ctx), 1, value)
    return build


def _share(part: str) -> Callable[[_Context, str, Any], Any]:
    def build(ctx: _Context, op: str, value: Any) -> Any:
        ctx.uses_b0 = True
        total = ctx.b0.total_kwh
        return and_(total > 0, _ratio_compare(op, getattr(ctx.b0, part), total, value))
    return build


def _share_change(part: str) -> Callable[[_Context, str, Any], Any]:
    def build(ctx: _Context, op: str, value: Any) -> Any:
        ctx.uses_b0 = ctx.uses_b1 = True
        t0, t1 = ctx.b0.total_kwh, ctx.b1.total_kwh
        p0, p1 = getattr(ctx.b0, part), getattr(ctx.b1, part)
        # p0/t0 - p1/t1 = (p0*t1 - p1*t0) / (t0*t1), both totals positive
        return and_(t0 > 0, t1 > 0, _ratio_compare(op, p0 * t1 - p1 * t0, t0 * t1, value))
    return build


def _select_single(column: Callable[[_Context], Any]) -> Callable[[_Context, str, Any], Any]:
    def build(ctx: _Context, op: str, value: Any) -> Any:
        col = column(ctx)
        if op == "contains":
            return col == value
        if op == "does_not_contain":
            return col != value
        raise KeyError(op)
    return build


def _grid(ctx: _Context, op: str, value: Any) -> Any:
    grid_id = ctx.session.scalar(select(Grid.id).where(Grid.code == value))
    if op == "contains":
        return Customer.grid_id == grid_id if grid_id is not None else false()
    if op == "does_not_contain":
        return Customer.grid_id != grid_id if grid_id is not None else true()
    raise KeyError(op)


def _multi(link: Any, link_col: str, target: Any) -> Callable[[_Context, str, Any], Any]:
    """select_multiple variables (tags, intentions) as EXISTS sub-queries on the link table."""

    def having(codes: list[str], inside: bool = True) -> Any:
        code_test = target.code.in_(codes) if inside else ~target.code.in_(codes) if codes else true()
        return exists(
            select(1).select_from(link).join(target, target.id == getattr(link.c, link_col))
            .where(link.c.customer_id == Customer.id, code_test)
        )

    def count_in(codes: list[str]) -> Any:
        return (
            select(func.count()).select_from(link).join(target, target.id == getattr(link.c, link_col))
            .where(link.c.customer_id == Customer.id, target.code.in_(codes)).scalar_subquery()
        )

    def build(ctx: _Context, op: str, value: Any) -> Any:
        codes = [str(v).lower() for v in value]
        if op == "contains_all":
            return and_(true(), *[having([c]) for c in dict.fromkeys(codes)])
        if op == "shares_at_least_one_element_with":
            return having(codes) if codes else false()
        if op == "shares_no_elements_with":
            return ~having(codes) if codes else true()
        if op == "is_contained_by":
            return ~having(codes, inside=False)
        if op == "shares_exactly_one_element_with":
            return count_in(codes) == 1 if codes else false()
        raise KeyError(op)
    return build


SQL_FORMS: dict[str, Callable[[_Context, str, Any], Any]] = {
    "customer_type": _select_single(lambda ctx: Customer.customer_type),
    "grid": _grid,
    "customer_tags": _multi(customer_tag_link, "tag_id", CustomerTag),
    "energy_intentions": _multi(customer_intention_link, "intention_id", EnergyIntention),
    "monthly_kwh": _plain(lambda ctx: ctx.b0.total_kwh, "uses_b0"),
    "bill_amount": _plain(lambda ctx: ctx.b0.amount_yuan, "uses_b0"),
    "peak_share": _share("peak_kwh"),
    "valley_share": _share("valley_kwh"),
    "peak_share_change": _share_change("peak_kwh"),
    "valley_share_change": _share_change("valley_kwh"),
}


def _compile(ctx: _Context, node: dict[str, Any]) -> tuple[Any | None, dict[str, Any] | None]:
    """(SQL clause or None, residual condition or None) for one condition node."""
    if "all" in node:
        clauses, residual = [], []
        for child in node["all"]:
            clause, rest = _compile(ctx, child)
            if clause is not None:
                clauses.append(clause)
            if rest is not None:
                residual.append(rest)
        return (and_(*clauses) if clauses else None), ({"all": residual} if residual else None)
    if "any" in node:
        parts = [_compile(ctx, child) for child in node["any"]]
        if all(rest is None for _, rest in parts):
            return or_(*[clause for clause, _ in parts]), None
        ctx.kept += sum(1 for clause, _ in parts if clause is not None)
        return None, node
    form = SQL_FORMS.get(node["name"])
    if form is None:
        ctx.kept += 1
        return None, node
    try:
        clause = form(ctx, node["operator"], node.get("value"))
    except KeyError:
        ctx.kept += 1
        return None, node
    ctx.pushed += 1
    ctx.pushed_nodes.add(id(node))
    return clause, None


# Bill conditions and the bills they compare: a comparison on a missing bill is never true.
_BILL_CONDITIONS = {"monthly_kwh": {"b0"}, "bill_amount": {"b0"}, "peak_share": {"b0"},
                    "valley_share": {"b0"}, "peak_share_change": {"b0", "b1"},
                    "valley_share_change": {"b0", "b1"}}


def _bills_required(conditions: dict[str, Any], pushed_nodes: set[int]) -> set[str]:
    """The bills without which no customer can match: those a pushed bill condition compares
    at the top level of the rule (itself, or a member of its top "all").  A customer without
    such a bill fails that condition, so an inner join selects the same customers as the outer
    one, and lets the database start from the period's bills.  ``pushed_nodes``: the leaves
    ``_compile`` gave a SQL form (read from it rather than building each clause again)."""
    top = conditions["all"] if "all" in conditions else [conditions]
    required: set[str] = set()
    for node in top:
        name = node.get("name") if isinstance(node, dict) else None
        # not pushed down: decided per row, it requires nothing here
        if name in _BILL_CONDITIONS and id(node) in pushed_nodes:
            required |= _BILL_CONDITIONS[name]
    return required


def compile_rule(session: Session, conditions: dict[str, Any], period: str) -> Compiled:
    """One query of customer ids for a rule's conditions, and what is left to check per row."""
    ctx = _Context(session, period)
    clause, residual = _compile(ctx, conditions)
    query = select(Customer.id)
    required = _bills_required(conditions, ctx.pushed_nodes)
    if ctx.uses_b0:
        on = and_(ctx.b0.customer_id == Customer.id, ctx.b0.period == period)
        query = query.join(ctx.b0, on) if "b0" in required else query.outerjoin(ctx.b0, on)
    if ctx.uses_b1:
        on = and_(ctx.b1.customer_id == Customer.id, ctx.b1.period == previous_period(period))
        query = query.join(ctx.b1, on) if "b1" in required else query.outerjoin(ctx.b1, on)
    if clause is not None:
        query = query.where(clause)
    return Compiled(query, residual, ctx.pushed, ctx.kept)
