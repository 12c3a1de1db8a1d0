"""Scope leaks (issue 14): a push campaign's messages are read with the same row scope on
every screen and API, and list actions on rows outside the viewer's scope say only that —
never the row's text."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.onsite import SafetyRecord
from app.models.workorder import WorkOrder
from tests.conftest import csrf_from
from tests.factories import grid, make_customer, make_order

CUSTOMER = "推送范围客户甲"


@pytest.fixture
def campaign_on_manager1_grid(db_session, api_as):
    make_customer(db_session, "ST001-G01", name=CUSTOMER)
    db_session.commit()
    director = api_as("director1")
    created = director.post("/api/v1/energy/campaigns", json={
        "name": "一号台区推送", "criteria": {"grid": "ST001-G01"}, "template": "{name}您好，停电检修通知。"})
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["result"]["id"]
    assert director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]["sent"] == 1
    return campaign_id


def test_manager2_reads_no_message_of_a_campaign_aimed_at_manager1_grids(campaign_on_manager1_grid, api_as):
    url = f"/api/v1/energy/campaigns/{campaign_on_manager1_grid}"
    other = api_as("manager2").get(url)
    assert other.status_code == 200 and other.get_json()["result"]["messages"] == []
    assert CUSTOMER not in other.get_data(as_text=True)

    owner = api_as("manager1").get(url).get_json()["result"]["messages"]
    assert [m["body"] for m in owner] == [f"{CUSTOMER}您好，停电检修通知。"]


def test_bulk_dispatch_of_another_stations_order_says_only_that_it_is_out_of_scope(db_session, login_as):
    order = make_order(db_session, "ST001-G01", contact_name="范围外联系人", content="范围外工单内容")
    leader2 = login_as("leader2")
    page = leader2.get("/workorderview/list/").get_data(as_text=True)
    answer = leader2.post("/workorderview/action_post", follow_redirects=True, data={
        "action": "bulk_dispatch", "rowid": [str(order.id)], "csrf_token": csrf_from(page)})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "1 条不在您的权限范围内" in body
    assert order.number not in body and "范围外" not in body
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "registered"


def test_closing_another_grids_safety_record_from_the_list_never_names_it(db_session, api_as, login_as):
    created = api_as("manager1").post("/api/v1/onsite/safety-records", json={
        "grid_id": grid(db_session, "ST001-G01").id, "site": "范围外配电房", "hazards": "门锁损坏"})
    record_id = created.get_json()["result"]["id"]
    manager2 = login_as("manager2")
    page = manager2.get("/safetyrecordview/add").get_data(as_text=True)  # (an empty list has no form)
    answer = manager2.post("/safetyrecordview/action_post", follow_redirects=True, data={
        "action": "close", "rowid": [str(record_id)], "csrf_token": csrf_from(page)})
    body = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "范围外配电房" not in body and "门锁损坏" not in body
    db_session.rollback()
    assert db_session.get(SafetyRecord, record_id).closed is False


def test_one_rows_action_is_403_outside_the_scope_and_404_for_an_unknown_row(db_session, login_as):
    order = make_order(db_session, "ST001-G01", contact_name="范围外联系人")
    leader2 = login_as("leader2")
    token = csrf_from(leader2.get("/workorderview/list/").get_data(as_text=True))
    outside = leader2.post(f"/workorderview/action/bulk_dispatch/{order.id}", data={"csrf_token": token})
    assert outside.status_code == 403 and order.number not in outside.get_data(as_text=True)
    unknown = leader2.post("/workorderview/action/bulk_dispatch/2147483000", data={"csrf_token": token})
    assert unknown.status_code == 404
    db_session.rollback()
    assert db_session.scalar(select(WorkOrder.state).where(WorkOrder.id == order.id)) == "registered"
