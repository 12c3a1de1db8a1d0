"""Lifecycle gaps (issue 15): transfer (转派) to another district manager, dispatch that knows
who is on leave, void (作废) instead of delete, the team leader's change of content or priority
through the workflow, and return (退单) and reject (驳回)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from app import clock
from app.models.rules import StaffLeave
from app.models.workorder import WorkOrder, WorkOrderEvent
from tests.conftest import csrf_from
from tests.factories import make_order, staff

pytestmark = pytest.mark.date_sensitive

ROLES_USERS = ("admin", "director1", "leader1", "manager1", "operator1")


def _act(api, order_id, action, **body):
    version = api.get(f"/api/v1/workorder/{order_id}").get_json()["result"]["version"]
    return api.post(f"/api/v1/workorder/{order_id}/{action}", json={"version": version, **body})


def _screen_action(client, order_id, action, **fields):
    html = client.get(f"/workorderview/show/{order_id}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    return client.post(f"/workorderview/transition/{order_id}/{action}", follow_redirects=True,
                       data={"csrf_token": csrf_from(html), "version": version, **fields})


def _put_on_leave(db_session, username, days=3):
    now = clock.now()
    db_session.add(StaffLeave(staff_id=staff(db_session, username).id, starts_at=now - dt.timedelta(hours=1),
                              ends_at=now + dt.timedelta(days=days), reason="年休假"))
    db_session.commit()


# --- transfer -------------------------------------------------------------------------------
def test_transferred_accepted_order_is_resolved_by_its_new_assignee_only(db_session, api_as, login_as):
    order = make_order(db_session, "ST001-G01")
    leader, manager1, manager2 = api_as("leader1"), api_as("manager1"), api_as("manager2")
    assert _act(leader, order.id, "dispatch", assignee="manager1").status_code == 200
    accepted = _act(manager1, order.id, "accept")
    assert accepted.status_code == 200
    before = accepted.get_json()["result"]
    assert "transfer" not in before["actions"]  # the district manager does not transfer

    moved = _act(leader, order.id, "transfer", assignee="manager2", reason="李台区外出培训，转张台区处理")
    assert moved.status_code == 200, moved.get_json()
    after = moved.get_json()["result"]
    assert after["state"] == "accepted" and after["assignee"] == "张台区"
    assert after["clocks"] == before["clocks"] and after["deadline"] == before["deadline"]

    refused = _act(manager1, order.id, "resolve", resolution="已处理")
    assert refused.status_code == 403
    resolved = _act(manager2, order.id, "resolve", resolution="更换表箱锁，已恢复")
    assert resolved.status_code == 200
    assert resolved.get_json()["result"]["state"] == "resolved"

    timeline = resolved.get_json()["result"]["timeline"]
    transfer = [e for e in timeline if e["action"] == "transfer"]
    assert len(transfer) == 1
    assert transfer[0]["note"] == "李台区 → 张台区：李台区外出培训，转张台区处理"
    assert transfer[0]["actor"] == "王班长"
    page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert "转派" in page and "李台区外出培训，转张台区处理" in page


def test_transfer_needs_a_reason_and_someone_else_and_an_order_in_hand(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    leader = api_as("leader1")
    early = _act(leader, order.id, "transfer", assignee="manager2", reason="调整")
    assert early.status_code == 409  # a registered order is dispatched, not transferred
    _act(leader, order.id, "dispatch", assignee="manager1")
    no_reason = _act(leader, order.id, "transfer", assignee="manager2")
    assert no_reason.status_code == 400 and no_reason.get_json()["field"] == "reason"
    same = _act(leader, order.id, "transfer", assignee="manager1", reason="调整")
    assert same.status_code == 400 and same.get_json()["field"] == "assignee"
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).assignee_id == staff(db_session, "manager1").id


def test_leader_transfers_on_the_order_page(db_session, login_as, api_as):
    order = make_order(db_session, "ST001-G04")
    _act(api_as("leader1"), order.id, "dispatch", assignee="manager2")
    leader = login_as("leader1")
    page = _screen_action(leader, order.id, "transfer", assignee=str(staff(db_session, "manager3").id),
                          reason="张台区请病假")
    html = page.get_data(as_text=True)
    assert 'data-action="transfer"' in html and "张台区 → 陈台区：张台区请病假" in html
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).assignee_id == staff(db_session, "manager3").id


# --- availability-aware dispatch ----------------------------------------------------------------
def test_dispatch_api_refuses_someone_on_leave_unless_confirmed(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    _put_on_leave(db_session, "manager1")
    leader = api_as("leader1")

    candidates = leader.get(f"/api/v1/workorder/{order.id}/candidates")
    assert candidates.status_code == 200
    by_name = {c["name"]: c for c in candidates.get_json()["result"]}
    assert by_name["李台区"]["on_leave"] is True and by_name["李台区"]["available"] is False
    assert by_name["李台区"]["leave_until"] is not None
    assert by_name["张台区"]["available"] is True and by_name["张台区"]["open_orders"] == 0

    refused = _act(leader, order.id, "dispatch", assignee="manager1")
    assert refused.status_code == 409
    assert refused.get_json()["field"] == "confirm_leave" and "李台区" in refused.get_json()["message"]
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "registered"

    confirmed = _act(leader, order.id, "dispatch", assignee="manager1", confirm_leave=True)
    assert confirmed.status_code == 200
    assert confirmed.get_json()["result"]["assignee"] == "李台区"
    db_session.rollback()
    event = db_session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order.id,
                                                            WorkOrderEvent.action == "dispatch")).one()
    assert event.data["confirmed_unavailable"].startswith("on leave until")


def test_candidates_show_open_orders_and_off_duty(db_session, api_as):
    from app.models.org import StaffProfile

    profile = db_session.get(StaffProfile, staff(db_session, "manager3").id)
    profile.on_duty = False  # put back before the next test by conftest
    db_session.commit()
    busy = make_order(db_session, "ST001-G04")
    order = make_order(db_session, "ST001-G01")
    leader = api_as("leader1")
    _act(leader, busy.id, "dispatch", assignee="manager2")
    by_name = {c["name"]: c for c in leader.get(f"/api/v1/workorder/{order.id}/candidates").get_json()["result"]}
    assert by_name["张台区"]["open_orders"] == 1 and by_name["张台区"]["available"] is True
    assert by_name["陈台区"]["on_duty"] is False and by_name["陈台区"]["available"] is False
    assert api_as("manager1").get(f"/api/v1/workorder/{order.id}/candidates").status_code == 403


def test_dispatch_screen_shows_leave_and_refuses_without_confirmation(db_session, login_as):
    order = make_order(db_session, "ST001-G01")
    _put_on_leave(db_session, "manager1")
    leader = login_as("leader1")
    html = leader.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    row = re.search(r'<tr class="gc-candidate" data-staff="%d" data-available="no">(.*?)</tr>'
                    % staff(db_session, "manager1").id, html, re.S)
    assert row is not None and "请假至" in row.group(1)

    manager1 = str(staff(db_session, "manager1").id)
    refused = _screen_action(leader, order.id, "dispatch", assignee=manager1).get_data(as_text=True)
    assert "李台区 is on leave until" in refused
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "registered"

    _screen_action(leader, order.id, "dispatch", assignee=manager1, confirm_leave="1")
    db_session.rollback()
    current = db_session.get(WorkOrder, order.id)
    assert current.state == "dispatched" and current.assignee_id == int(manager1)


def test_bulk_dispatch_leaves_out_orders_of_a_manager_on_leave(db_session, login_as):
    on_leave = make_order(db_session, "ST001-G01")
    present = make_order(db_session, "ST001-G04")
    _put_on_leave(db_session, "manager1")
    leader = login_as("leader1")
    html = leader.get("/workorderview/list/").get_data(as_text=True)
    leader.post("/workorderview/action_post", follow_redirects=True, data={
        "csrf_token": csrf_from(html), "action": "bulk_dispatch", "rowid": [str(on_leave.id), str(present.id)]})
    db_session.rollback()
    assert db_session.get(WorkOrder, on_leave.id).state == "registered"
    assert db_session.get(WorkOrder, present.id).state == "dispatched"


# --- void instead of delete -------------------------------------------------------------------------
def test_no_role_deletes_or_generically_edits_a_work_order_anywhere(app, db_session, login_as, api_as):
    order = make_order(db_session, "ST001-G01")
    for username in ROLES_USERS:
        screen = login_as(username)
        html = screen.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
        assert f"/workorderview/delete/{order.id}" not in html and f"/workorderview/edit/{order.id}" not in html
        token = csrf_from(screen.get("/notifications/").get_data(as_text=True))
        for url in (f"/workorderview/delete/{order.id}", f"/workorderview/edit/{order.id}",
                    f"/conveniencepointorderview/delete/{order.id}", f"/conveniencepointorderview/edit/{order.id}"):
            assert screen.get(url).status_code == 404, (username, url)
            assert screen.post(url, data={"csrf_token": token}).status_code == 404, (username, url)
        api = api_as(username)
        assert api.client.delete(f"/api/v1/workorder/{order.id}", headers=api.headers).status_code == 405
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id) is not None

    from app.extensions import appbuilder
    from app.models.workorder import WorkOrder as W

    order_views = [v for v in appbuilder.baseviews
                   if getattr(getattr(v, "datamodel", None), "obj", None) is W]
    assert len(order_views) > 1
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    for view in order_views:
        assert "can_delete" not in view.base_permissions and "can_edit" not in view.base_permissions
        name = type(view).__name__
        assert f"{name}.delete" not in endpoints and f"{name}.edit" not in endpoints


def test_void_needs_a_reason_and_shows_on_the_timeline(db_session, api_as, login_as):
    order = make_order(db_session, "ST001-G01")
    leader = api_as("leader1")
    _act(leader, order.id, "dispatch", assignee="manager1")
    assert _act(api_as("manager1"), order.id, "void", reason="重复").status_code == 403
    no_reason = _act(leader, order.id, "void")
    assert no_reason.status_code == 400 and no_reason.get_json()["field"] == "reason"
    voided = _act(leader, order.id, "void", reason="客户重复来电，与前一工单重复")
    assert voided.status_code == 200
    result = voided.get_json()["result"]
    assert result["state"] == "voided" and result["actions"] == []
    assert [(e["action"], e["to"], e["note"]) for e in result["timeline"]][-1] == (
        "void", "voided", "客户重复来电，与前一工单重复")
    page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert "作废" in page and "客户重复来电，与前一工单重复" in page and "已作废" in page
    assert _act(leader, order.id, "urge").status_code == 409  # a voided order is closed


def test_void_on_the_order_page_without_reason_is_refused(db_session, login_as):
    order = make_order(db_session, "ST001-G01")
    leader = login_as("leader1")
    html = _screen_action(leader, order.id, "void", reason="").get_data(as_text=True)
    assert "reason is required" in html
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "registered"
    _screen_action(leader, order.id, "void", reason="测试数据，作废")
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "voided"


# --- content and priority through the workflow -------------------------------------------------------
def test_leader_changes_content_and_priority_with_a_timeline_event(db_session, login_as, api_as):
    order = make_order(db_session, "ST001-G01", content="表箱门损坏")
    leader = login_as("leader1")
    _screen_action(leader, order.id, "amend", content="表箱门损坏，锁已脱落", priority="urgent", note="客户再次来电")
    db_session.rollback()
    changed = db_session.get(WorkOrder, order.id)
    assert changed.content == "表箱门损坏，锁已脱落" and changed.priority == "urgent"
    event = db_session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order.id,
                                                            WorkOrderEvent.action == "amend")).one()
    assert event.note == "优先级 普通 → 紧急；内容已修改：客户再次来电"
    assert event.data["changes"]["content"] == ["表箱门损坏", "表箱门损坏，锁已脱落"]
    nothing = _act(api_as("leader1"), order.id, "amend", priority="urgent")
    assert nothing.status_code == 400
    assert _act(api_as("manager1"), order.id, "amend", priority="low").status_code == 403


# --- return and reject ----------------------------------------------------------------------------
def test_district_manager_returns_a_dispatched_order_with_a_reason(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    leader, manager = api_as("leader1"), api_as("manager1")
    _act(leader, order.id, "dispatch", assignee="manager1")
    no_reason = _act(manager, order.id, "return")
    assert no_reason.status_code == 400 and no_reason.get_json()["field"] == "reason"
    returned = _act(manager, order.id, "return", reason="不属于本台区")
    assert returned.status_code == 200
    result = returned.get_json()["result"]
    assert result["state"] == "registered" and result["assignee"] is None
    assert (result["timeline"][-1]["action"], result["timeline"][-1]["note"]) == ("return", "不属于本台区")
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).return_count == 1
    assert _act(manager, order.id, "return", reason="再退").status_code == 403  # no longer theirs to return


def test_leader_rejects_a_resolution_back_to_the_district_manager(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    leader, manager = api_as("leader1"), api_as("manager1")
    _act(leader, order.id, "dispatch", assignee="manager1")
    _act(manager, order.id, "accept")
    _act(manager, order.id, "resolve", resolution="已处理")
    assert _act(manager, order.id, "reject", reason="自己驳回").status_code == 403
    no_reason = _act(leader, order.id, "reject")
    assert no_reason.status_code == 400 and no_reason.get_json()["field"] == "reason"
    rejected = _act(leader, order.id, "reject", reason="现场照片缺失")
    assert rejected.status_code == 200
    result = rejected.get_json()["result"]
    assert result["state"] == "accepted" and result["resolved_at"] is None
    assert (result["timeline"][-1]["action"], result["timeline"][-1]["note"]) == ("reject", "现场照片缺失")
    again = _act(manager, order.id, "resolve", resolution="补充照片，已处理")
    assert again.status_code == 200 and again.get_json()["result"]["state"] == "resolved"
