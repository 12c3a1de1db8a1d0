"""The order page built for the work (issue 16): a header with number, state, the nearest clock
and its time left, the customer and the role's actions; facts without empty rows; a timeline
that says to whom; destructive actions red and confirmed; the page comes back where it was."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.models.workorder import WorkOrder, WorkOrderEvent
from tests.browser import sign_in
from tests.factories import advance, make_customer, make_order

pytestmark = pytest.mark.date_sensitive

# A Wednesday morning, station time: every clock of these tests runs in working time.
WED_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
PHONE = "13912345678"


def _order_of_customer(db_session, **kw):
    customer = make_customer(db_session, "ST001-G01", name="陈客户", phone=PHONE)
    return make_order(db_session, "ST001-G01", customer_no=customer.customer_no, contact_name="陈先生",
                      phone=PHONE, content="家中插座无电，请上门检查", **kw), customer


def test_header_shows_number_state_time_left_customer_and_a_call_link(db_session, login_as):
    with time_machine.travel(WED_10, tick=False):
        order, customer = _order_of_customer(db_session)
        html = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    header = html.split('id="order-header"', 1)[1].split('id="order-facts"', 1)[0]
    assert order.number in header and "已受理" in header
    assert "剩余" in header.split('id="time-left"', 1)[1].split("</strong>", 1)[0]
    assert f'href="/customerview/show/{customer.id}"' in header
    assert f'href="tel:{PHONE}"' in header  # a team leader may see the number: one tap to call
    assert 'data-action="dispatch"' in header


def test_a_role_without_personal_data_gets_no_call_link_and_no_full_number(db_session, login_as):
    with time_machine.travel(WED_10, tick=False):
        order, _ = _order_of_customer(db_session)
        html = login_as("director1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert PHONE not in html and "tel:" not in html
    assert "139****5678" in html


def test_empty_facts_are_left_out(db_session, login_as):
    with time_machine.travel(WED_10, tick=False):
        order, _ = _order_of_customer(db_session)
        html = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    facts = html.split('id="order-facts"', 1)[1].split('id="timeline"', 1)[0]
    assert 'data-fact="content"' in facts and 'data-fact="registered_at"' in facts
    for empty in ("resolved_at", "evaluation_comment", "score", "external_id", "urge_count", "parent"):
        assert f'data-fact="{empty}"' not in facts, empty


def test_timeline_of_a_redispatch_says_to_whom(db_session, login_as):
    with time_machine.travel(WED_10, tick=False):
        order = make_order(db_session, "ST001-G01")
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("dispatch", "leader1", {"assignee": "manager2"}))
        html = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    rows = [row for row in html.split('<tr class="timeline-event"')[1:] if 'data-action="dispatch"' in row]
    assert len(rows) == 2
    assert "派给 李台区" in rows[0] and "派给 张台区" in rows[1]
    assert "已派单 → 已派单" not in rows[1]


def test_destructive_actions_are_red_and_ask_first_while_verify_is_green(db_session, login_as):
    with time_machine.travel(WED_10, tick=False):
        order = make_order(db_session, "ST001-G01")
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已修复"}))
        html = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    reject = html.split('<form method="post" action="/workorderview/transition/%d/reject"' % order.id, 1)[1].split("</form>", 1)[0]
    verify = html.split('<form method="post" action="/workorderview/transition/%d/verify"' % order.id, 1)[1].split("</form>", 1)[0]
    assert "data-confirm=" in reject and "btn-danger" in reject
    assert "data-confirm=" not in verify and "btn-success" in verify and "btn-danger" not in verify


def test_evaluation_offers_presets_and_scales(db_session, login_as):
    with time_machine.travel(WED_10, tick=False):
        order = make_order(db_session, "ST001-G01")
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已修复"}),
                ("verify", "leader1", {}))
        html = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    evaluate = html.split('data-action="evaluate">', 1)[1].split("</form>", 1)[0]
    for preset in ("满意", "基本满意", "不满意"):
        assert f'data-value="{ {"满意": 100, "基本满意": 80, "不满意": 50}[preset] }">{preset}<' in evaluate
    assert evaluate.count('type="range" min="0" max="100"') == 3


@pytest.mark.browser
def test_order_page_shows_actions_and_time_left_on_a_laptop_screen_and_stays_put(db_session, page, live_server):
    with time_machine.travel(WED_10, tick=True):
        order, _ = _order_of_customer(db_session)
        for n in range(15):  # a long timeline: the page scrolls
            advance(db_session, order, ("urge", "leader1", {"note": f"第{n + 1}次催办，客户来电询问进度"}))
        page.set_viewport_size({"width": 1366, "height": 900})
        sign_in(page, live_server, "leader1")
        page.goto(f"{live_server}/workorderview/show/{order.id}")

        def in_view(selector):
            box = page.locator(selector).bounding_box()
            return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 900

        assert page.evaluate("window.scrollY") == 0
        assert in_view("#time-left") and "剩余" in page.inner_text("#time-left")
        offered = page.eval_on_selector_all("#order-actions [data-action]", "els => els.map(e => e.dataset.action)")
        assert {"dispatch", "urge", "supervise"} <= set(offered)
        for name in offered:
            assert in_view(f"#order-actions [data-action={name}] >> nth=0"), name

        assert page.evaluate("document.documentElement.scrollHeight") > 900 + 300
        page.evaluate("window.scrollTo(0, 300)")
        page.wait_for_function("window.scrollY === 300")
        page.click("form.gc-action[data-action=urge] button[type=submit]")  # one click, no box
        page.wait_for_selector("text=催办：已完成")
        page.wait_for_function("window.scrollY > 0")
        assert abs(page.evaluate("window.scrollY") - 300) <= 2
        assert in_view("#order-actions")  # the header stays in view while scrolled

        page.click("details[data-action=dispatch] > summary")
        page.click("form.gc-action[data-action=dispatch] button[type=submit]")
        page.wait_for_selector("text=派单：已完成")
    db_session.rollback()
    assert db_session.scalar(select(WorkOrder.urge_count).where(WorkOrder.id == order.id)) == 16
    events = db_session.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.order_id == order.id)).all()
    assert events.count("dispatch") == 1
    assert page.csp_violations == []


@pytest.mark.browser
def test_reject_asks_for_confirmation_and_a_no_changes_nothing(db_session, page, live_server):
    with time_machine.travel(WED_10, tick=True):
        order = make_order(db_session, "ST001-G01")
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已修复"}))
        page.set_viewport_size({"width": 1366, "height": 900})
        sign_in(page, live_server, "leader1")
        page.goto(f"{live_server}/workorderview/show/{order.id}")
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.click("details[data-action=reject] > summary")
        page.fill("form.gc-action[data-action=reject] input[name=reason]", "现场照片不清晰")
        page.click("form.gc-action[data-action=reject] button[type=submit]")
        page.wait_for_timeout(300)
        assert asked and "驳回" in asked[0]
        db_session.rollback()
        assert db_session.get(WorkOrder, order.id).state == "resolved"

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("form.gc-action[data-action=reject] button[type=submit]")
        page.wait_for_selector("text=驳回：已完成")
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "accepted"
