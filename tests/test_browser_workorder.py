"""A normal day in Chromium: the team leader dispatches, verifies and scores an order that the
district manager accepts and resolves from the mobile app (REST)."""

from __future__ import annotations

from sqlalchemy import select

from app.models.workorder import WorkOrder, WorkOrderEvent
from tests.browser import sign_in
from tests.factories import make_order


def test_leader_dispatches_verifies_and_scores_in_the_browser(db_session, page, live_server, api_as):
    order = make_order(db_session, "ST001-G01", content="客户反映表箱门损坏")
    sign_in(page, live_server, "leader1")
    page.goto(f"{live_server}/workorderview/list/")
    assert order.number in page.content()
    page.goto(f"{live_server}/workorderview/show/{order.id}")
    page.click("details[data-action=dispatch] > summary")  # the action's box opens under the header
    page.select_option("form[data-action=dispatch] select[name=assignee]", label="李台区")
    page.click("form[data-action=dispatch] button[type=submit]")
    page.wait_for_selector("tr.timeline-event[data-action=dispatch]")

    manager = api_as("manager1")
    version = manager.get(f"/api/v1/workorder/{order.id}").get_json()["result"]["version"]
    version = manager.post(f"/api/v1/workorder/{order.id}/accept", json={"version": version}).get_json()["result"]["version"]
    resolved = manager.post(f"/api/v1/workorder/{order.id}/resolve",
                            json={"version": version, "resolution": "已更换表箱门锁"})
    assert resolved.status_code == 200

    page.goto(f"{live_server}/workorderview/show/{order.id}")
    page.click("form[data-action=verify] button[type=submit]")
    page.wait_for_selector("form[data-action=evaluate]", state="attached")
    page.click("details[data-action=evaluate] > summary")
    page.fill("form[data-action=evaluate] input[name=timeliness]", "100")
    page.fill("form[data-action=evaluate] input[name=quality]", "90")
    page.fill("form[data-action=evaluate] input[name=attitude]", "95")
    page.fill("form[data-action=evaluate] input[name=comment]", "处理及时，客户满意")
    page.click("form[data-action=evaluate] button[type=submit]")
    page.wait_for_selector("tr.timeline-event[data-action=evaluate]")

    rows = page.locator("tr.timeline-event").all_inner_texts()
    assert len(rows) == 6  # registered + five steps, each with who and when
    assert "王班长" in rows[1] and "李台区" in rows[2] and "李台区" in rows[3]
    assert "已评价" in page.inner_text("#order-state")

    assert page.csp_violations == []  # the screens run under the strict CSP

    db_session.rollback()
    final = db_session.get(WorkOrder, order.id)
    assert final.state == "evaluated" and final.score == 95
    actions = db_session.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.order_id == order.id)
                                 .order_by(WorkOrderEvent.id)).all()
    assert actions == ["register", "dispatch", "accept", "resolve", "verify", "evaluate"]
