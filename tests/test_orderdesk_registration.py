"""Registration at the counter (issue 16): phone and walk-in channels, fault repair as a demand
type, 普通 and the operator's last channel as defaults, and one search box that finds the
customer by 户号, name, address or phone (in full or its last eight digits) — scoped, masked,
rate-limited — and fills the form before saving."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from sqlalchemy import select

from app.models.workorder import WorkOrder
from tests.browser import sign_in
from tests.conftest import csrf_from
from tests.factories import grid, make_customer, make_order

pytestmark = pytest.mark.date_sensitive

WED_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PHONE = "13706521984"


@pytest.fixture(autouse=True)
def _fresh_limits(app):
    """Each test starts with no look-ups counted against anyone."""
    from app.extensions import appbuilder

    with app.app_context():
        appbuilder.sm.limiter.reset()
    yield


def _look(client, q):
    return client.get("/workorderview/customer_lookup", query_string={"q": q})


def test_the_full_number_and_its_last_eight_digits_find_the_customer(db_session, login_as):
    customer = make_customer(db_session, "ST001-G02", name="柜台查找客户", phone=PHONE)
    operator = login_as("operator1")
    for q in (PHONE, PHONE[-8:], "137-0652-1984"):
        found = _look(operator, q).get_json()["result"]
        assert [hit["customer_no"] for hit in found] == [customer.customer_no], q
        assert found[0]["matched"] == "phone"
    hit = _look(operator, PHONE[-8:]).get_json()["result"][0]
    assert hit["phone"] == PHONE  # the operator may see personal data
    assert hit["grid_id"] == customer.grid_id and hit["grid"].startswith("ST001-G02")
    assert hit["address"] == customer.address


def test_customer_number_name_and_address_find_the_customer(db_session, login_as):
    customer = make_customer(db_session, "ST001-G02", name="柜台查找客户", address="示范县解放路88号")
    operator = login_as("operator1")
    for q, matched in ((customer.customer_no, "customer_no"), ("柜台查找", "name"), ("解放路88", "address")):
        found = _look(operator, q).get_json()["result"]
        assert [(hit["customer_no"], hit["matched"]) for hit in found] == [(customer.customer_no, matched)], q


def test_a_role_without_personal_data_finds_by_number_but_sees_it_masked(db_session, login_as):
    customer = make_customer(db_session, "ST001-G02", phone=PHONE)
    director = login_as("director1")
    answer = _look(director, PHONE[-8:])
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert [hit["customer_no"] for hit in answer.get_json()["result"]] == [customer.customer_no]
    assert answer.get_json()["result"][0]["phone"] == "137****1984"
    assert PHONE not in body and PHONE[3:7] not in body


def test_partial_digits_reveal_nothing_to_a_masked_role(db_session, login_as):
    """Equality on digests only: the visible ends, a prefix, or seven of the last eight digits
    find nothing, so no digit can be learnt one at a time."""
    make_customer(db_session, "ST001-G02", phone=PHONE)
    director = login_as("director1")
    for q in ("1984", PHONE[:7], PHONE[-7:], PHONE[:3] + "****" + PHONE[-4:], PHONE[1:], PHONE[-9:]):
        answer = _look(director, q)
        assert answer.status_code == 200 and answer.get_json()["result"] == [], q


def test_guessing_the_hidden_digits_is_stopped_by_the_rate_limit(app, db_session, login_as):
    make_customer(db_session, "ST001-G02", phone=PHONE)
    app.config["CUSTOMER_LOOKUP_RATE_LIMIT"] = "5 per minute"
    try:
        with time_machine.travel(WED_10, tick=False):
            director = login_as("director1")
            answers = [_look(director, f"137{n:04d}1984").status_code for n in range(6)]
            other = _look(login_as("leader1"), "13700001984").status_code  # limits are per user
    finally:
        app.config["CUSTOMER_LOOKUP_RATE_LIMIT"] = "30 per minute"
    assert answers == [200] * 5 + [429]
    assert other == 200


def test_the_search_keeps_to_the_callers_scope(db_session, login_as):
    mine = make_customer(db_session, "ST001-G01", name="同名客户甲")
    theirs = make_customer(db_session, "ST002-G01", name="同名客户乙", phone=PHONE)
    operator = login_as("operator1")
    assert [hit["customer_no"] for hit in _look(operator, "同名客户").get_json()["result"]] == [mine.customer_no]
    assert _look(operator, PHONE).get_json()["result"] == []
    assert _look(operator, theirs.customer_no).get_json()["result"] == []


def test_a_role_that_does_not_register_gets_403(db_session, login_as):
    make_customer(db_session, "ST001-G01", phone=PHONE)
    answer = _look(login_as("manager1"), PHONE)
    assert answer.status_code == 403
    assert PHONE[-4:] not in answer.get_data(as_text=True)


def test_bad_query_is_a_400_naming_q(db_session, login_as):
    operator = login_as("operator1")
    for q in ("", "x", "长" * 65):
        answer = _look(operator, q)
        assert answer.status_code == 400 and answer.get_json()["field"] == "q", q


def test_signed_out_caller_gets_401(client):
    assert _look(client, PHONE).status_code == 401


def test_registration_defaults_to_normal_and_the_operators_last_channel(db_session, login_as):
    operator = login_as("operator1")
    first = operator.get("/workorderview/add").get_data(as_text=True)
    assert _selected(first, "priority") == "normal"
    assert _selected(first, "channel") == "phone"
    make_order(db_session, "ST001-G01", channel="counter", by="operator1")
    again = operator.get("/workorderview/add").get_data(as_text=True)
    assert _selected(again, "channel") == "counter"


def test_the_form_offers_phone_counter_and_fault_repair(db_session, login_as):
    form = login_as("operator1").get("/workorderview/add").get_data(as_text=True)
    assert 'value="phone">电话<' in form and 'value="counter">营业厅柜台<' in form
    demand = form.split('name="demand_type"', 1)[1].split("</select>", 1)[0]
    assert ">故障报修<" in demand and ">紧急<" not in demand
    grid_select = form.split('name="grid"', 1)[1].split("</select>", 1)[0]
    assert 'value="__None">请选择台区（选中客户后自动填入）<' in grid_select


def _selected(html, name):
    select_html = html.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    match = re.search(r'<option selected value="([^"]+)"|<option value="([^"]+)" selected', select_html)
    assert match, name
    return match.group(1) or match.group(2)


@pytest.mark.browser
def test_operator_finds_the_customer_by_the_last_eight_digits_and_saves_the_order(db_session, page, live_server):
    customer = make_customer(db_session, "ST001-G03", name="林阿姨", phone=PHONE, address="示范县幸福路6号")
    with time_machine.travel(WED_10, tick=True):
        page.set_viewport_size({"width": 1366, "height": 900})
        sign_in(page, live_server, "operator1")
        page.goto(f"{live_server}/workorderview/add")
        assert "__None" not in page.inner_text("#model_form")
        page.fill("#desk-q", PHONE[-8:])
        page.click(f"#desk-results .desk-hit[data-customer='{customer.customer_no}']")
        assert page.input_value("input[name=contact_name]") == "林阿姨"
        assert page.input_value("input[name=address]") == "示范县幸福路6号"
        assert page.input_value("input[name=customer_no]") == customer.customer_no
        assert page.input_value("select[name=grid]") == str(grid(db_session, "ST001-G03").id)
        page.select_option("select[name=demand_type]", "urgent")
        page.fill("textarea[name=content], input[name=content]", "家中突然停电，邻居有电")
        page.locator("form input[type=submit], form button[type=submit]").last.click()
        page.wait_for_url("**/workorderview/show/**")
        assert "林阿姨" in page.inner_text("#order-header")
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder).where(WorkOrder.customer_no == customer.customer_no))
    assert order.contact_name == "林阿姨" and order.address == "示范县幸福路6号"
    assert order.phone == PHONE and order.grid_id == customer.grid_id
    assert order.channel == "phone" and order.priority == "normal" and order.demand_type == "urgent"
    assert page.csp_violations == []


def test_saving_after_a_lookup_posts_what_the_form_shows(db_session, login_as):
    """The same registration through HTTP: the fields the search filled are what is saved."""
    customer = make_customer(db_session, "ST001-G03", name="林阿姨", phone=PHONE)
    operator = login_as("operator1")
    hit = _look(operator, PHONE[-8:]).get_json()["result"][0]
    form = operator.get("/workorderview/add").get_data(as_text=True)
    operator.post("/workorderview/add", data={
        "csrf_token": csrf_from(form), "channel": "counter", "demand_type": "urgent",
        "customer_no": hit["customer_no"], "contact_name": hit["name"], "phone": "", "address": hit["address"],
        "content": "表箱冒烟", "grid": str(hit["grid_id"]), "priority": "normal"})
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder))
    assert order.customer_id == customer.id and order.phone == PHONE and order.channel == "counter"


def test_customers_from_the_marketing_sync_are_found_by_their_phone(app, db_session, login_as, tmp_path):
    """The sync writes in bulk (no model events): it sets the look-up keys itself, also when a
    later export changes the number."""
    export = tmp_path / "customers.csv"

    def write(phone):
        export.write_text("户号,户名,用电类别,联系电话,用电地址,台区编号\n"
                          f"3312345678,营销同步客户,居民,{phone},示范县同步路1号,ST001-G04\n", encoding="utf-8")

    write(PHONE)
    assert app.test_cli_runner().invoke(args=["gridcare", "sync", "customers", str(export)]).exit_code == 0
    operator = login_as("operator1")
    assert [hit["customer_no"] for hit in _look(operator, PHONE[-8:]).get_json()["result"]] == ["3312345678"]
    write("13600001111")
    assert app.test_cli_runner().invoke(args=["gridcare", "sync", "customers", str(export)]).exit_code == 0
    assert _look(operator, PHONE[-8:]).get_json()["result"] == []
    assert [hit["customer_no"] for hit in _look(operator, "36000011").get_json()["result"]] == []
    assert [hit["customer_no"] for hit in _look(operator, "00001111").get_json()["result"]] == ["3312345678"]
