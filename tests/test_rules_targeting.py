"""Push targeting: the SQL push-down selects exactly the customers per-row evaluation selects."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlalchemy import delete, select

from app.models.customer import Bill, Customer, CustomerTag, EnergyIntention
from app.models.org import Grid
from app.rules.engine import LoadedRuleSet
from app.rules.pushdown import compile_rule
from app.rules.targeting import select_customers, select_per_row
from app.rules.validation import validate_rules
from tests.rules_helpers import act, cond, rule, save

PERIOD, PREVIOUS = "202609", "202608"
TYPES = ["residential", "non_residential", "large_industry", "agricultural"]
GRIDS = ["ST001-G01", "ST001-G02", "ST002-G01"]
TAGS = ["elderly_alone", "sensitive", "important", "pv_owner", "ev_owner"]
INTENTIONS = ["pv", "ev_charging", "heat_pump", "storage", "electric_cooking"]
ADDRESSES = ["示范县东路1号", "示范县西街2号", "城东新村3幢", ""]
FRACTIONS = [Decimal(x) for x in ("0", "0.1", "0.25", "0.3", "0.45", "0.5")]
TOTALS = [Decimal(x) for x in ("0", "100", "200.5", "1000", "3300")]

# --- populations ----------------------------------------------------------------------------
bill = st.one_of(st.none(), st.tuples(st.sampled_from(TOTALS), st.sampled_from(FRACTIONS),
                                      st.sampled_from(FRACTIONS)))
customer = st.fixed_dictionaries({
    "type": st.sampled_from(TYPES), "grid": st.sampled_from(GRIDS), "address": st.sampled_from(ADDRESSES),
    "tags": st.sets(st.sampled_from(TAGS), max_size=3), "intentions": st.sets(st.sampled_from(INTENTIONS), max_size=2),
    "now": bill, "before": bill,
})
population = st.lists(customer, min_size=1, max_size=14)

# --- conditions -----------------------------------------------------------------------------
NUMERIC_OPS = ["equal_to", "greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to"]
MULTI_OPS = ["contains_all", "is_contained_by", "shares_at_least_one_element_with",
             "shares_exactly_one_element_with", "shares_no_elements_with"]


def _numeric(name, values):
    return st.builds(cond, st.just(name), st.sampled_from(NUMERIC_OPS), st.sampled_from(values))


def _select(name, values):
    return st.builds(cond, st.just(name), st.sampled_from(["contains", "does_not_contain"]), st.sampled_from(values))


def _multi(name, values):
    return st.builds(cond, st.just(name), st.sampled_from(MULTI_OPS),
                     st.lists(st.sampled_from(values), unique=True, max_size=3))


leaf = st.one_of(
    _select("customer_type", TYPES), _select("grid", GRIDS),
    _multi("customer_tags", TAGS), _multi("energy_intentions", INTENTIONS),
    _numeric("monthly_kwh", [0, 100, 150.5, 200.5, 1000, 5000]),
    _numeric("bill_amount", [0, 50, 53.8, 107.87, 600]),
    _numeric("peak_share", [0, 0.1, 0.25, 0.3, 0.45, 1]),
    _numeric("valley_share", [0, 0.1, 0.25, 0.3, 0.5]),
    _numeric("peak_share_change", [-0.2, -0.05, 0, 0.05, 0.15]),
    _numeric("valley_share_change", [-0.25, 0, 0.05, 0.2]),
    st.builds(cond, st.just("address"), st.sampled_from(["contains", "starts_with", "equal_to"]),
              st.sampled_from(["示范县", "号", "城东新村3幢"])),
    st.builds(cond, st.just("address"), st.just("non_empty")),
)
conditions = st.recursive(
    leaf, lambda children: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(children, min_size=1, max_size=3))),
    max_leaves=6,
).map(lambda c: c if ("all" in c or "any" in c) else {"all": [c]})


def _insert(session, people):
    grids = {g.code: g.id for g in session.scalars(select(Grid))}
    tags = {t.code: t for t in session.scalars(select(CustomerTag))}
    intentions = {i.code: i for i in session.scalars(select(EnergyIntention))}
    for n, person in enumerate(people):
        c = Customer(customer_no=f"77{n:08d}", name=f"目标客户{n}", customer_type=person["type"],
                     address=person["address"], grid_id=grids[person["grid"]],
                     tags=[tags[t] for t in sorted(person["tags"])],
                     intentions=[intentions[i] for i in sorted(person["intentions"])])
        for period, b in ((PERIOD, person["now"]), (PREVIOUS, person["before"])):
            if b is not None:
                total, peak, valley = b
                p = (total * peak).quantize(Decimal("0.01"))
                v = (total * valley).quantize(Decimal("0.01"))
                c.bills.append(Bill(period=period, total_kwh=total, peak_kwh=p, valley_kwh=v,
                                    flat_kwh=total - p - v, amount_yuan=(total * Decimal("0.538")).quantize(Decimal("0.01"))))
        session.add(c)
    session.commit()


def _clear(session):
    session.execute(delete(Bill))
    session.execute(delete(Customer))
    session.commit()


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(people=population, rules=st.lists(conditions, min_size=1, max_size=3))
def test_sql_push_down_selects_exactly_what_per_row_evaluation_selects(db_session, people, rules):
    _insert(db_session, people)
    try:
        rule_set = LoadedRuleSet(None, "性质测试", 1, 0, tuple(
            rule(f"r{i}", c, act("add_to_campaign", campaign="c", template="t")) for i, c in enumerate(rules)))
        assert validate_rules("targeting", list(rule_set.rules), db_session) == []
        pushed = select_customers(db_session, rule_set, period=PERIOD)
        reference = select_per_row(db_session, rule_set, period=PERIOD)
        assert [s.customer_ids for s in pushed] == [s.customer_ids for s in reference]
    finally:
        _clear(db_session)


def test_only_variables_without_sql_form_are_left_for_per_row_evaluation(db_session):
    both = {"all": [cond("monthly_kwh", "greater_than", 100), cond("address", "contains", "东"),
                    {"any": [cond("customer_tags", "shares_at_least_one_element_with", ["pv_owner"]),
                             cond("valley_share", "greater_than_or_equal_to", 0.3)]}]}
    compiled = compile_rule(db_session, both, PERIOD)
    assert compiled.residual == {"all": [cond("address", "contains", "东")]}
    assert compiled.pushed == 3

    mixed_any = {"any": [cond("monthly_kwh", "greater_than", 100), cond("address", "contains", "东")]}
    assert compile_rule(db_session, mixed_any, PERIOD).residual == mixed_any


def test_campaign_over_demo_customers_matches_per_row_evaluation(db_session):
    from app.rules.seed import DEFAULT_RULE_SETS, seed_rules
    from app.seed import seed_customers

    seed_customers(db_session, 240, months=3)
    db_session.commit()
    seed_rules(db_session)
    db_session.commit()
    targeting_sets = [name for domain, name, *_ in DEFAULT_RULE_SETS if domain == "targeting"]
    assert targeting_sets
    for name in targeting_sets:
        pushed = select_customers(db_session, name)
        reference = select_per_row(db_session, name)
        assert [(s.rule, s.customer_ids) for s in pushed] == [(s.rule, s.customer_ids) for s in reference]
        assert any(s.customer_ids for s in pushed), f"{name} selects nobody in the demo data"
        assert all(s.campaigns for s in pushed)


def test_select_customers_names_campaign_and_respects_grid_scope(db_session):
    _insert(db_session, [
        {"type": "residential", "grid": "ST001-G01", "address": "a", "tags": set(), "intentions": {"pv"},
         "now": (Decimal(300), Decimal("0.3"), Decimal("0.1")), "before": None},
        {"type": "residential", "grid": "ST002-G01", "address": "b", "tags": set(), "intentions": {"pv"},
         "now": (Decimal(300), Decimal("0.3"), Decimal("0.1")), "before": None},
    ])
    save(db_session, "targeting", "光伏推广", [rule("有光伏意向", {"all": [
        cond("energy_intentions", "shares_at_least_one_element_with", ["pv"])]},
        act("add_to_campaign", campaign="屋顶光伏", template="尊敬的{name}，屋顶光伏政策…"))])
    everyone = select_customers(db_session, "光伏推广", period=PERIOD)
    g01 = db_session.scalar(select(Grid.id).where(Grid.code == "ST001-G01"))
    scoped = select_customers(db_session, "光伏推广", period=PERIOD, grid_ids=[g01])
    assert len(everyone[0].customer_ids) == 2 and len(scoped[0].customer_ids) == 1
    assert everyone[0].campaigns == [{"campaign": "屋顶光伏", "template": "尊敬的{name}，屋顶光伏政策…"}]
