"""A normal day of each role in Chromium (headless, tests/browser.py; a screenshot is saved
under test-artifacts/ when one fails).  The team leader's day is tests/test_browser_workorder.py."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models.onsite import SafetyRecord
from app.models.workorder import WorkOrder
from tests.browser import sign_in
from tests.factories import grid, make_order


def test_operator_registers_a_walk_in_demand(db_session, page, live_server):
    sign_in(page, live_server, "operator1")
    page.goto(f"{live_server}/workorderview/add")
    page.select_option("select[name=channel]", "convenience_point")
    page.select_option("select[name=demand_type]", "service")
    page.fill("input[name=contact_name]", "赵女士")
    page.fill("input[name=phone]", "13800002222")
    page.fill("input[name=address]", "示范县城东路12号")
    page.fill("textarea[name=content], input[name=content]", "客户来厅申请更换电表（浏览器）")
    page.select_option("select[name=grid]", value=str(grid(db_session, "ST001-G02").id))
    page.locator("form input[type=submit], form button[type=submit]").last.click()
    page.wait_for_load_state()
    assert page.csp_violations == []
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder).where(WorkOrder.content == "客户来厅申请更换电表（浏览器）"))
    assert order is not None, page.content()[-2000:]
    assert order.channel == "convenience_point" and order.phone == "13800002222"
    page.goto(f"{live_server}/workorderview/list/")
    assert order.number in page.content()


def test_district_manager_records_a_safety_inspection_and_finds_it_in_the_list(db_session, page, live_server):
    g02 = grid(db_session, "ST001-G02")
    sign_in(page, live_server, "manager1")
    page.goto(f"{live_server}/safetyrecordview/add")
    page.select_option("select[name=grid]", value=str(g02.id))
    page.fill("input[name=site], textarea[name=site]", "幸福小区5号配电房（浏览器）")
    page.fill("input[name=hazards], textarea[name=hazards]", "电缆沟积水")
    page.fill("input[name=rectification_required], textarea[name=rectification_required]", "抽水并封堵")
    page.fill("input[name=deadline]", (dt.date.today() + dt.timedelta(days=7)).isoformat())
    page.locator("form input[type=submit], form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/safetyrecordview/list/")
    assert "幸福小区5号配电房（浏览器）" in page.content()
    assert page.csp_violations == []
    db_session.rollback()
    record = db_session.scalar(select(SafetyRecord).where(SafetyRecord.site == "幸福小区5号配电房（浏览器）"))
    assert record is not None and record.grid_id == g02.id and record.staff_name == "李台区"


def test_admin_dry_runs_a_routing_rule_set_on_recent_orders(db_session, page, live_server):
    order = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                       content="小区停电三小时（浏览器）")
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/rules/dryrun")
    page.select_option("#dryrun-form select[name=domain]", "routing")
    page.fill("#dryrun-form input[name=subjects]", order.number)
    page.click("#dryrun-form button[type=submit]")
    page.wait_for_selector("#dryrun-result")
    result = page.inner_text("#dryrun-result")
    assert order.number in result
    assert page.csp_violations == []
    db_session.rollback()
    # a dry run changes nothing
    assert db_session.get(WorkOrder, order.id).version == order.version


def test_director_opens_the_dashboard_and_downloads_the_monthly_report(db_session, page, live_server):
    make_order(db_session, "ST001-G01", content="仪表盘测试工单（浏览器）")
    sign_in(page, live_server, "director1")
    page.goto(f"{live_server}/dashboard/")
    page.wait_for_selector("#chart-channel canvas, #chart-channel svg")
    assert page.locator("#kpis .kpi").count() >= 4
    assert "ST001" in page.inner_text("#scope-label") or page.inner_text("#scope-label")
    month = dt.date.today().strftime("%Y-%m")
    report = page.request.get(f"{live_server}/report/evaluation?month={month}")
    assert report.status == 200 and report.headers["content-type"] == "application/pdf"
    assert report.body().startswith(b"%PDF")
    assert page.csp_violations == []
