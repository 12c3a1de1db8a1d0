"""The work-order list screen (app/views/order_list.py): the filter bar, chips for other
filters, sorting, paging, typed times as station time, masking, and clear 400s on bad
arguments; in Chromium, a team leader filters by state and dispatches the whole page."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from app.models.workorder import WorkOrder
from tests.browser import sign_in
from tests.factories import make_order

LIST = "/workorderview/list/"


def _numbers(html: str) -> list[str]:
    return re.findall(r'<tr class="order-row[^"]*" data-id="\d+">.*?>([A-Z]{2}[\d-]+)</a>', html, re.S)


def _orders(db_session, n: int, **kw) -> list[WorkOrder]:
    return [make_order(db_session, f"ST001-G0{1 + i % 3}", **kw) for i in range(n)]


def _set(db_session, order: WorkOrder, **values) -> None:
    db_session.execute(update(WorkOrder).where(WorkOrder.id == order.id).values(**values))
    db_session.commit()


def test_state_drop_down_filters_by_equality_and_blank_fields_are_dropped(db_session, login_as):
    orders = _orders(db_session, 4)
    _set(db_session, orders[1], state="dispatched")
    _set(db_session, orders[2], state="accepted")
    leader = login_as("leader1")
    blank = leader.get(f"{LIST}?_flt_3_state=dispatched&_flt_2_number=&_flt_0_grid=")
    assert blank.status_code == 302 and blank.location.endswith(f"{LIST}?_flt_3_state=dispatched")
    html = leader.get(blank.location).get_data(as_text=True)
    assert _numbers(html) == [orders[1].number]
    assert 'option value="dispatched" selected' in html
    assert "共 1 张工单" in html


def test_other_filters_show_as_chips_that_remove_themselves(db_session, login_as):
    orders = _orders(db_session, 2)
    leader = login_as("leader1")
    html = leader.get(f"{LIST}?_flt_2_content=表箱&_flt_3_state=registered").get_data(as_text=True)
    chip = re.search(r'<span class="label label-default filter-chip">(.*?)<a href="([^"]+)"', html, re.S)
    assert chip and "内容" in chip.group(1) and "表箱" in chip.group(1)
    remove = chip.group(2).replace("&amp;", "&")
    assert "_flt_2_content" not in remove and "_flt_3_state=registered" in remove
    assert set(_numbers(leader.get(remove).get_data(as_text=True))) == {o.number for o in orders}
    # the chip's filter is kept when the filter bar is submitted again
    assert 'type="hidden" name="_flt_2_content" value="表箱"' in html


def test_sorting_paging_and_page_sizes(db_session, login_as):
    orders = _orders(db_session, 7)
    base = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
    for i, order in enumerate(orders):  # deadlines in the reverse order of registration
        _set(db_session, order, deadline=base + dt.timedelta(hours=len(orders) - i))
    leader = login_as("leader1")
    by_deadline = f"{LIST}?_oc_WorkOrderView=deadline&_od_WorkOrderView=asc&psize_WorkOrderView=3"
    first = leader.get(by_deadline).get_data(as_text=True)
    assert _numbers(first) == [o.number for o in reversed(orders)][:3]
    third = leader.get(by_deadline + "&page_WorkOrderView=2").get_data(as_text=True)
    assert _numbers(third) == [orders[0].number]
    assert '<li class="active"><a' in third and "共 7 张工单" in third
    descending = leader.get(f"{LIST}?_oc_WorkOrderView=deadline&_od_WorkOrderView=desc").get_data(as_text=True)
    assert _numbers(descending) == [o.number for o in orders]


def test_bad_arguments_are_a_clear_400(db_session, login_as):
    _orders(db_session, 1)
    leader = login_as("leader1")
    for query, text in [
        ("page_WorkOrderView=two", "page_WorkOrderView"),
        ("_oc_WorkOrderView=content&_od_WorkOrderView=asc", "content"),
        ("_flt_1_registered_at=not-a-date", "not-a-date"),
        ("psize_WorkOrderView=all", "psize_WorkOrderView"),
    ]:
        response = leader.get(f"{LIST}?{query}")
        assert response.status_code == 400, query
        assert text in response.get_data(as_text=True), query


def test_a_typed_time_is_station_time(db_session, login_as):
    order = make_order(db_session, "ST001-G01")
    # 17:30 UTC on 1 November is 01:30 on 2 November at the station (UTC+8).
    _set(db_session, order, registered_at=dt.datetime(2026, 11, 1, 17, 30, tzinfo=dt.timezone.utc))
    leader = login_as("leader1")
    after_midnight = leader.get(f"{LIST}?_flt_1_registered_at=2026-11-02").get_data(as_text=True)
    assert _numbers(after_midnight) == [order.number]
    after_two = leader.get(f"{LIST}?_flt_1_registered_at=2026-11-02 02:00").get_data(as_text=True)
    assert _numbers(after_two) == []


def test_phone_is_masked_for_district_managers_and_overdue_rows_are_marked(db_session, login_as):
    order = make_order(db_session, "ST001-G01", phone="13812345678")
    _set(db_session, order, deadline=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc))
    manager_html = login_as("manager1").get(LIST).get_data(as_text=True)
    assert "138****5678" in manager_html and "13812345678" not in manager_html
    leader_html = login_as("leader1").get(LIST).get_data(as_text=True)
    assert "13812345678" in leader_html
    assert re.search(rf'<tr class="order-row danger" data-id="{order.id}"', leader_html)


def test_leader_filters_by_state_and_dispatches_the_page_in_the_browser(db_session, page, live_server):
    registered = [make_order(db_session, "ST001-G01"), make_order(db_session, "ST001-G05")]
    other = make_order(db_session, "ST001-G01")
    _set(db_session, other, state="resolved")
    sign_in(page, live_server, "leader1")
    page.goto(f"{live_server}{LIST}")
    page.select_option("#order-filters select[name=_flt_3_state]", "registered")
    page.click("#order-filters button[type=submit]")
    page.wait_for_url("**_flt_3_state=registered**")
    assert "_flt_2_number" not in page.url  # empty fields are left out
    assert sorted(page.locator("tr.order-row a").all_inner_texts()) == sorted(o.number for o in registered)
    page.check("#order-select-all")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#order-bulk-dispatch")
    page.wait_for_selector(".alert-success")
    assert page.csp_violations == []
    db_session.rollback()
    states = dict(db_session.execute(select(WorkOrder.id, WorkOrder.state)).all())
    assert all(states[o.id] == "dispatched" for o in registered) and states[other.id] == "resolved"
