"""In Chromium: the team leader dispatches to a district manager on leave only after
confirming, and the district manager then finds the order under the bell in the navbar."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app import clock
from app.models.rules import StaffLeave
from app.models.workorder import WorkOrder
from tests.browser import sign_in
from tests.factories import make_order, staff


def test_dispatch_to_someone_on_leave_needs_the_leaders_confirmation(db_session, page, live_server):
    order = make_order(db_session, "ST001-G01", content="客户反映表箱门损坏")
    now = clock.now()
    db_session.add(StaffLeave(staff_id=staff(db_session, "manager1").id, starts_at=now - dt.timedelta(hours=1),
                              ends_at=now + dt.timedelta(days=2), reason="年休假"))
    db_session.commit()

    sign_in(page, live_server, "leader1")
    page.goto(f"{live_server}/workorderview/show/{order.id}")
    page.click("details[data-action=dispatch] > summary")  # the action's box opens under the header
    row = page.locator("#gc-candidates-dispatch tr.gc-candidate", has_text="李台区")
    assert "请假至" in row.inner_text()
    page.select_option("form[data-action=dispatch] select[name=assignee]", label="李台区")
    page.click("form[data-action=dispatch] button[type=submit]")
    page.wait_for_selector(".alert-danger")
    assert "李台区 is on leave until" in page.inner_text(".alert-danger")
    assert "已受理" in page.inner_text("#order-state")

    page.click("details[data-action=dispatch] > summary")
    page.select_option("form[data-action=dispatch] select[name=assignee]", label="李台区")
    page.check("form[data-action=dispatch] input[name=confirm_leave]")
    page.click("form[data-action=dispatch] button[type=submit]")
    page.wait_for_selector("tr.timeline-event[data-action=dispatch]")
    assert "已派单" in page.inner_text("#order-state")
    assert page.csp_violations == []

    page.goto(f"{live_server}/logout/")
    sign_in(page, live_server, "manager1")
    assert page.inner_text("#gc-unread").strip() == "1"
    page.click("#gc-bell")
    page.wait_for_selector(".notification")
    assert f"新工单 {order.number}，请及时接单" in page.inner_text("#notifications")

    db_session.rollback()
    dispatched = db_session.scalar(select(WorkOrder).where(WorkOrder.id == order.id))
    assert dispatched.state == "dispatched" and dispatched.assignee_id == staff(db_session, "manager1").id
