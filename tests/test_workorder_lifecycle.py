"""The spine's acceptance: an order's whole life through screens and the REST API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models.workorder import WorkOrder, WorkOrderEvent
from tests.conftest import csrf_from
from tests.factories import make_order

pytestmark = pytest.mark.date_sensitive


def _post_action(client, order_id, action, **fields):
    page = client.get(f"/workorderview/show/{order_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    data = {"csrf_token": csrf_from(html), "version": version, **fields}
    return client.post(f"/workorderview/transition/{order_id}/{action}", data=data,
                       follow_redirects=True)


def test_login_page_is_served_and_demo_accounts_log_in(client, login_as):
    page = client.get("/login/")
    assert page.status_code == 200
    assert "csrf_token" in page.get_data(as_text=True)
    for username in ("admin", "director1", "leader1", "manager1", "manager2", "operator1"):
        signed_in = login_as(username)
        assert signed_in.get("/workorderview/list/").status_code == 200


def test_order_lives_its_whole_life_through_screens_and_api(db_session, login_as, api_as):
    order = make_order(db_session, "ST001-G02")
    leader = login_as("leader1")

    page = _post_action(leader, order.id, "dispatch", assignee="")
    assert page.status_code == 200

    manager = api_as("manager1")
    detail = manager.get(f"/api/v1/workorder/{order.id}").get_json()["result"]
    assert detail["state"] == "dispatched" and "accept" in detail["actions"]
    accepted = manager.post(f"/api/v1/workorder/{order.id}/accept", json={"version": detail["version"]})
    assert accepted.status_code == 200, accepted.get_json()
    version = accepted.get_json()["result"]["version"]
    resolved = manager.post(f"/api/v1/workorder/{order.id}/resolve",
                            json={"version": version, "resolution": "更换熔丝，恢复供电"})
    assert resolved.status_code == 200
    assert resolved.get_json()["result"]["state"] == "resolved"

    _post_action(leader, order.id, "verify")
    page = _post_action(leader, order.id, "evaluate", timeliness="95", quality="90", attitude="100",
                        comment="处理及时")
    html = page.get_data(as_text=True)
    assert "已评价" in html or "Evaluated" in html

    db_session.rollback()
    events = db_session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order.id)
                                .where(WorkOrderEvent.action != "register")
                                .order_by(WorkOrderEvent.id)).all()
    assert [e.action for e in events] == ["dispatch", "accept", "resolve", "verify", "evaluate"]
    assert [e.actor_name for e in events] == ["王班长", "李台区", "李台区", "王班长", "王班长"]
    assert all(e.created_at is not None for e in events)
    for event in events:  # the timeline on the detail page shows who and when
        assert event.actor_name in html
    final = db_session.get(WorkOrder, order.id)
    assert final.state == "evaluated" and final.score == 95 and final.timely is True


def test_manager2_cannot_see_or_act_on_manager1_orders(db_session, login_as, api_as):
    order = make_order(db_session, "ST001-G01")
    manager2_api = api_as("manager2")
    assert manager2_api.get(f"/api/v1/workorder/{order.id}").status_code == 403
    listed = manager2_api.get("/api/v1/workorder/").get_json()["result"]
    assert order.id not in [o["id"] for o in listed]
    acted = manager2_api.post(f"/api/v1/workorder/{order.id}/accept", json={"version": 1})
    assert acted.status_code == 403

    manager2 = login_as("manager2")
    assert manager2.get(f"/workorderview/show/{order.id}").status_code == 404
    assert order.number not in manager2.get("/workorderview/list/").get_data(as_text=True)
    manager1 = login_as("manager1")
    assert order.number in manager1.get("/workorderview/list/").get_data(as_text=True)


def test_illegal_transition_and_stale_version_get_409_and_change_nothing(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    leader = api_as("leader1")
    illegal = leader.post(f"/api/v1/workorder/{order.id}/evaluate", json={"version": 1, "score": 90})
    assert illegal.status_code == 409
    assert "registered" in illegal.get_json()["message"]

    dispatched = leader.post(f"/api/v1/workorder/{order.id}/dispatch",
                             json={"version": 1, "assignee": "manager1"})
    assert dispatched.status_code == 200
    stale = leader.post(f"/api/v1/workorder/{order.id}/urge", json={"version": 1})
    assert stale.status_code == 409
    assert "changed" in stale.get_json()["message"]

    db_session.rollback()
    current = db_session.get(WorkOrder, order.id)
    assert current.state == "dispatched" and current.urge_count == 0 and current.score is None
