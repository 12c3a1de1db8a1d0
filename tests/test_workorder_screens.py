"""Screens and API of the spine as each role uses them: registration, bulk dispatch, scope,
masking, bad input, the OpenAPI document."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models.workorder import WorkOrder
from tests.conftest import csrf_from
from tests.factories import make_customer, make_order


def test_operator_registers_a_demand_in_the_browser(db_session, login_as):
    customer = make_customer(db_session, "ST001-G03")
    operator = login_as("operator1")
    form = operator.get("/workorderview/add").get_data(as_text=True)
    grid_id = customer.grid_id
    response = operator.post("/workorderview/add", data={
        "csrf_token": csrf_from(form), "channel": "convenience_point", "demand_type": "service",
        "customer_no": customer.customer_no, "contact_name": "", "phone": "", "address": "",
        "content": "客户来便民服务点申请检查表计", "grid": str(grid_id), "priority": "normal",
    }, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder))
    assert order is not None and order.customer_id == customer.id
    assert order.number in html and re.fullmatch(r"GD\d{8}-\d{4}", order.number)
    assert order.phone == customer.phone  # taken from the archive


def test_registration_form_refuses_missing_content(db_session, login_as):
    operator = login_as("operator1")
    form = operator.get("/workorderview/add").get_data(as_text=True)
    operator.post("/workorderview/add", data={
        "csrf_token": csrf_from(form), "channel": "convenience_point", "demand_type": "service",
        "content": "   ", "priority": "normal"})
    db_session.rollback()
    assert db_session.scalar(select(WorkOrder)) is None


def test_form_post_without_csrf_token_is_refused(db_session, login_as):
    order = make_order(db_session)
    leader = login_as("leader1")
    response = leader.post(f"/workorderview/transition/{order.id}/dispatch", data={"version": "1"})
    assert response.status_code == 400
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "registered"


def test_team_leader_bulk_dispatches_to_grid_managers(db_session, login_as):
    first = make_order(db_session, "ST001-G01")
    second = make_order(db_session, "ST001-G05")
    leader = login_as("leader1")
    page = leader.get("/workorderview/list/").get_data(as_text=True)
    response = leader.post("/workorderview/action_post", data={
        "action": "bulk_dispatch", "rowid": [str(first.id), str(second.id)],
        "csrf_token": csrf_from(page)}, follow_redirects=True)
    assert response.status_code == 200
    db_session.rollback()
    orders = {o.id: o for o in db_session.scalars(select(WorkOrder))}
    assert orders[first.id].state == orders[second.id].state == "dispatched"
    assert orders[first.id].assignee.name == "李台区" and orders[second.id].assignee.name == "张台区"


def test_district_manager_sees_masked_phone_and_cannot_search_by_it(db_session, login_as, api_as):
    customer = make_customer(db_session, "ST001-G01", phone="13812345678")
    make_order(db_session, "ST001-G01", phone="13812345678")
    manager = login_as("manager1")
    listing = manager.get("/customerview/list/").get_data(as_text=True)
    assert "138****5678" in listing and "13812345678" not in listing
    detail = manager.get(f"/customerview/show/{customer.id}").get_data(as_text=True)
    assert "13812345678" not in detail
    assert manager.get("/customerview/list/?_flt_0_phone=13812345678").status_code == 403
    assert manager.get("/workorderview/list/?_oc_WorkOrderView=phone&_od_WorkOrderView=asc").status_code == 403
    api_orders = api_as("manager1").get("/api/v1/workorder/").get_json()["result"]
    assert api_orders[0]["phone"] == "138****5678"

    leader = login_as("leader1")  # a team leader holds the PersonalData permission
    assert "13812345678" in leader.get("/customerview/list/").get_data(as_text=True)
    assert leader.get("/customerview/list/?_flt_0_phone=13812345678").status_code == 200


def test_customers_are_scoped_to_the_viewers_grids(db_session, login_as):
    mine = make_customer(db_session, "ST001-G02", name="甲客户")
    other_grid = make_customer(db_session, "ST001-G05", name="乙客户")
    other_station = make_customer(db_session, "ST002-G01", name="丙客户")
    manager1 = login_as("manager1").get("/customerview/list/").get_data(as_text=True)
    assert "甲客户" in manager1 and "乙客户" not in manager1 and "丙客户" not in manager1
    director = login_as("director1").get("/customerview/list/").get_data(as_text=True)
    assert "甲客户" in director and "乙客户" in director and "丙客户" not in director
    assert login_as("manager1").get(f"/customerview/show/{other_grid.id}").status_code == 404
    assert login_as("director1").get(f"/customerview/show/{other_station.id}").status_code == 404
    _ = mine


def test_other_station_leader_cannot_touch_the_order(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    response = api_as("leader2").post(f"/api/v1/workorder/{order.id}/dispatch",
                                      json={"version": 1, "assignee": "st2_manager1"})
    assert response.status_code == 403


def test_leader_cannot_dispatch_to_someone_outside_the_team(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    response = api_as("leader1").post(f"/api/v1/workorder/{order.id}/dispatch",
                                      json={"version": 1, "assignee": "st2_manager1"})
    assert response.status_code == 403 and "scope" in response.get_json()["message"]


def test_bad_input_gets_clear_4xx_json(db_session, api_as):
    order = make_order(db_session)
    leader = api_as("leader1")
    cases = [
        (f"/api/v1/workorder/{order.id}/dispatch", {"data": "{not json", "content_type": "application/json"}, 400),
        (f"/api/v1/workorder/{order.id}/dispatch", {"json": {"assignee": "manager1"}}, 400),
        (f"/api/v1/workorder/{order.id}/dispatch", {"json": {"version": "one"}}, 400),
        (f"/api/v1/workorder/{order.id}/fly", {"json": {"version": 1}}, 400),
        (f"/api/v1/workorder/{order.id}/dispatch", {"json": {"version": 1, "assignee": "nobody"}}, 400),
        ("/api/v1/workorder/999999/dispatch", {"json": {"version": 1}}, 404),
    ]
    for url, kwargs, status in cases:
        response = leader.post(url, **kwargs)
        assert response.status_code == status, (url, kwargs, response.get_data(as_text=True))
        assert response.get_json()["message"]
    assert leader.get("/api/v1/workorder/?limit=abc").status_code == 400
    assert leader.get("/api/v1/workorder/?state=flying").status_code == 400
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "registered"


def test_api_list_pages_with_a_keyset_cursor(db_session, api_as):
    ids = [make_order(db_session, "ST001-G01").id for _ in range(5)]
    manager = api_as("manager1")
    first = manager.get("/api/v1/workorder/?limit=2").get_json()
    assert [o["id"] for o in first["result"]] == sorted(ids, reverse=True)[:2]
    second = manager.get(f"/api/v1/workorder/?limit=2&after_id={first['next_after_id']}").get_json()
    assert [o["id"] for o in second["result"]] == sorted(ids, reverse=True)[2:4]


def test_unauthenticated_api_calls_are_refused(client):
    assert client.get("/api/v1/workorder/").status_code == 401
    assert client.post("/api/v1/workorder/1/accept", json={"version": 1}).status_code == 401


def test_openapi_document_lists_the_workorder_api(api_as):
    spec = api_as("manager1").get("/api/v1/_openapi")
    assert spec.status_code == 200
    paths = spec.get_json()["paths"]
    assert "/api/v1/workorder/{pk}/{action}" in paths and "/api/v1/workorder/" in paths
