"""Overdue at a glance: the order list's 超期 / 即将超期 buttons (per clock), readable chips,
and the dashboard's monthly counts equal to the monthly PDF's (issue 16)."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
import time_machine
from sqlalchemy import update

from app.models.workorder import WorkOrder
from app.workflow.calendar import LOCAL_TZ
from tests.browser import sign_in
from tests.factories import advance, make_order

pytestmark = pytest.mark.date_sensitive

LIST = "/workorderview/list/"
# Wednesday 25 November 2026, 10:00 station time: every test sets the clock itself.
NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=LOCAL_TZ)


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=LOCAL_TZ)


def _orders(session):
    """Open orders of ST001 past a deadline, due soon and on time; others closed, suspended
    or out of the team leader's scope."""
    made = {
        # A complaint is contacted within 1 working day: due Tuesday 24th 09:00.
        "contact_late": make_order(session, "ST001-G01", demand_type="complaint", content="电费异常投诉",
                                   received_at=at(11, 23)),
        # A service order is completed within 3 working days: due Friday 13th.
        "completion_late": make_order(session, "ST001-G05", received_at=at(11, 10)),
        # Contacted by Wednesday 25th 11:00: an hour left.
        "contact_soon": make_order(session, "ST001-G02", demand_type="complaint", content="停电咨询投诉",
                                   received_at=at(11, 24, 11)),
        "on_time": make_order(session, "ST001-G03", received_at=at(11, 25, 9)),
        "resolved_late": make_order(session, "ST001-G01", received_at=at(11, 10)),
        "suspended_late": make_order(session, "ST001-G04", received_at=at(11, 10)),
        "other_station": make_order(session, "ST002-G01", received_at=at(11, 10), by="operator2"),
    }
    advance(session, made["resolved_late"], ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已处理"}), now=at(11, 20))
    advance(session, made["suspended_late"], ("dispatch", "leader1", {"assignee": "manager2"}),
            ("suspend", "manager2", {"reason": "客户外出"}), now=at(11, 11))
    return made


def _numbers(page) -> list[str]:
    return sorted(page.locator("tr.order-row td a").all_inner_texts())


def test_overdue_button_lists_exactly_the_open_orders_past_a_deadline_in_the_browser(db_session, page, live_server):
    with time_machine.travel(NOW, tick=True):
        made = _orders(db_session)
        sign_in(page, live_server, "leader1")
        page.goto(f"{live_server}{LIST}")
        page.click("#filter-overdue")
        page.wait_for_url("**overdue=1**")
        assert _numbers(page) == sorted([made["contact_late"].number, made["completion_late"].number])
        chips = page.inner_text("#order-filter-chips")
        assert "超期" in chips and "2026-" not in chips and "+00:00" not in chips
        assert page.locator("td.next-clock .time-left.label-danger").count() == 2  # time left: late

        page.click("#filter-overdue-clocks a[data-clock=contact]")
        page.wait_for_url("**overdue=contact**")
        assert _numbers(page) == [made["contact_late"].number]
        assert "首次联系" in page.inner_text("#order-filter-chips")

        page.click("#filter-due_soon")
        page.wait_for_url("**due_soon=1**")
        assert "overdue=" not in page.url  # 超期 and 即将超期 exclude each other
        assert _numbers(page) == [made["contact_soon"].number]
        assert "即将超期" in page.inner_text("#order-filter-chips")
        assert page.csp_violations == []


def test_named_filters_are_checked_and_old_style_time_chips_read_in_station_time(db_session, login_as):
    with time_machine.travel(NOW, tick=False):
        make_order(db_session, "ST001-G01", received_at=at(11, 10))
        leader = login_as("leader1")
        refused = leader.get(f"{LIST}?overdue=yesterday")
        assert refused.status_code == 400 and "overdue" in refused.get_data(as_text=True)
        assert leader.get(f"{LIST}?overdue_month=2026-13").status_code == 400
        html = leader.get(f"{LIST}?_flt_2_deadline=2026-12-01T03:57:56.262333%2B00:00").get_data(as_text=True)
    chip = re.search(r'class="label label-default filter-chip">([^<]+)<', html).group(1)
    assert "2026-12-01 11:57" in chip and "T03:57" not in chip and "+00:00" not in chip


def _november(session):
    """November 2026 in ST001: two orders overdue in the month (one still open, one resolved
    late), one escalated on registration (所级督办, no 督办 event) among them, one resolved in
    time; ST002's overdue order is outside the director's scope."""
    late_open = make_order(session, "ST001-G01", received_at=at(11, 10))
    late_resolved = make_order(session, "ST001-G02", received_at=at(11, 2))
    advance(session, late_resolved, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已处理"}), now=at(11, 12))
    on_time = make_order(session, "ST001-G04", received_at=at(11, 16))
    advance(session, on_time, ("dispatch", "leader1", {"assignee": "manager2"}),
            ("accept", "manager2", {}), ("resolve", "manager2", {"resolution": "已处理"}), now=at(11, 17))
    make_order(session, "ST002-G01", received_at=at(11, 10), by="operator2")
    session.execute(update(WorkOrder).where(WorkOrder.id == late_open.id).values(supervision_level="station"))
    session.commit()
    return late_open, late_resolved


def _pdf_count(text: str, heading: str) -> int:
    return int(re.search(heading + r"（共(\d+)件）", "".join(text.split())).group(1))


def test_dashboard_overdue_count_of_last_month_equals_the_pdf(db_session, login_as, tmp_path):
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ), tick=False):
        late_open, late_resolved = _november(db_session)
        director = login_as("director1")
        html = director.get("/dashboard/?month=2026-11").get_data(as_text=True)
        overdue = int(re.search(r'id="month-overdue-count" data-value="(\d+)"', html).group(1))
        supervised = int(re.search(r'id="month-supervised-count" data-value="(\d+)"', html).group(1))
        assert "2026-11" in re.search(r'id="month-overdue-count".*?</div>\s*</div>', html, re.S).group(0)
        assert re.search(r'id="overdue-count".*?当前', html, re.S)

        link = re.search(r'id="report-pdf" href="([^"]+)"', html).group(1).replace("&amp;", "&")
        response = director.get(link)
        assert response.status_code == 200 and response.mimetype == "application/pdf"
        out = tmp_path / "november.pdf"
        out.write_bytes(response.data)
        text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True,
                              text=True).stdout

        overdue_link = re.search(r'id="month-overdue-count".*?href="([^"]+)"', html, re.S).group(1)
        listed = director.get(overdue_link.replace("&amp;", "&")).get_data(as_text=True)
    assert overdue == _pdf_count(text, "四、超期工单") == 2
    # The order escalated on registration is listed under 所级督办 and counted as supervised.
    assert "所级督办" in "".join(text.split())
    assert supervised == _pdf_count(text, "五、督办工单") == 1
    assert sorted(re.findall(r'<tr class="order-row[^"]*" data-id="(\d+)"', listed)) == sorted(
        [str(late_open.id), str(late_resolved.id)])


def test_dashboard_overdue_now_equals_the_overdue_button(db_session, login_as):
    with time_machine.travel(NOW, tick=False):
        made = _orders(db_session)
        leader = login_as("leader1")
        html = leader.get("/dashboard/").get_data(as_text=True)
        now_count = int(re.search(r'id="overdue-count" data-value="(\d+)"', html).group(1))
        link = re.search(r'id="overdue-count".*?href="([^"]+)"', html, re.S).group(1).replace("&amp;", "&")
        listed = leader.get(link).get_data(as_text=True)
        everything = leader.get(LIST).get_data(as_text=True)
    assert "overdue=1" in link and "_flt_2_deadline" not in link
    # Unfiltered, the rows marked red are exactly those the button lists (not the suspended one).
    red = re.findall(r'<tr class="order-row danger" data-id="(\d+)"', everything)
    assert sorted(red) == sorted([str(made["contact_late"].id), str(made["completion_late"].id)])
    rows = re.findall(r'<tr class="order-row[^"]*" data-id="(\d+)"', listed)
    assert now_count == len(rows) == 2
    assert sorted(rows) == sorted([str(made["contact_late"].id), str(made["completion_late"].id)])


def test_dashboard_links_leave_chips_in_chinese(db_session, login_as):
    with time_machine.travel(dt.datetime(2026, 12, 2, 10, 0, tzinfo=LOCAL_TZ), tick=False):
        _november(db_session)
        director = login_as("director1")
        html = director.get("/dashboard/?month=2026-11").get_data(as_text=True)
        chips = []
        for card in ("open-count", "timely-rate", "month-overdue-count"):
            link = re.search(r'id="%s".*?href="([^"]+)"' % card, html, re.S).group(1).replace("&amp;", "&")
            page = director.get(link).get_data(as_text=True)
            chips += [" ".join(c.split()) for c in re.findall(r'class="label label-default filter-chip">([^<]+)<', page)]
    assert "状态 属于 已受理, 已派单, 已接单" in chips
    assert "及时 等于 是" in chips and "受理时间 大于 2026-11-01 00:00" in chips
    assert "2026-11 超期" in chips
    assert not any(re.search(r"[A-Za-z]{2,}", chip) for chip in chips), chips
