"""The work-point ledger (issue 15): every scoring event books one entry through the active
scoring rules, exactly once — a reopened order is reversed before it is scored again — and the
ledger is read on screen and through ``GET /api/v1/workpoint/`` in the reader's scope."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.models.login import LoginRecord
from app.models.onsite import Visit
from app.models.workorder import WorkOrder
from app.rules import engine
from app.rules.seed import DEFAULT_RULE_SETS
from app.rules.store import save_rule_set
from app.workflow.calendar import LOCAL_TZ
from tests.conftest import csrf_from
from tests.factories import make_customer, make_order, staff

pytestmark = pytest.mark.date_sensitive

# Friday 20 November 2026, 10:00 in Shanghai: the clock of every test here.
NOVEMBER_20 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=LOCAL_TZ)


def default_scoring(session) -> None:
    """The station's default scoring rule set (工分标准), as the demo data activates it."""
    for domain, name, priority, description, rules in DEFAULT_RULE_SETS:
        if domain == "scoring":
            save_rule_set(session, domain=domain, name=name, rules=rules, author="system", priority=priority,
                          active=True, description=description, comment="默认规则")
    session.commit()
    engine.clear_cache()


def act(api, order_id: int, action: str, **body) -> dict:
    version = api.get(f"/api/v1/workorder/{order_id}").get_json()["result"]["version"]
    response = api.post(f"/api/v1/workorder/{order_id}/{action}", json={**body, "version": version})
    assert response.status_code == 200, (action, response.get_data(as_text=True))
    return response.get_json()["result"]


def ledger(api, **filters) -> dict:
    response = api.get("/api/v1/workpoint/", query_string=filters)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_evaluate_reopen_evaluate_books_points_reversal_points_and_one_evaluation_in_total(
        db_session, api_as, login_as):
    with time_machine.travel(NOVEMBER_20, tick=False):
        default_scoring(db_session)
        order = make_order(db_session, "ST001-G01")
        leader, manager = api_as("leader1"), api_as("manager1")
        act(leader, order.id, "dispatch", assignee="manager1")
        act(manager, order.id, "accept")
        act(manager, order.id, "resolve", resolution="已更换表箱")
        act(leader, order.id, "verify")
        act(leader, order.id, "evaluate", score=90)
        act(leader, order.id, "reopen", reason="客户反映仍有问题")
        act(manager, order.id, "accept")
        act(manager, order.id, "resolve", resolution="重新处理完毕")
        act(leader, order.id, "verify")
        act(leader, order.id, "evaluate", score=90)

        body = ledger(leader, source="work_order", source_id=order.id)
        entries = list(reversed(body["result"]))  # the API lists newest first
        assert [(e["kind"], e["points"]) for e in entries] == [("points", 3.0), ("reversal", -3.0), ("points", 3.0)]
        assert {(e["rule_set"], e["rule_set_version"], e["rule_name"]) for e in entries} == {
            ("工分标准", 1, "办结基础分、及时办结")}
        assert [line["rule"] for line in entries[0]["lines"]] == ["办结基础分", "及时办结"]
        assert entries[0]["facts"]["score"] == 90 and entries[0]["facts"]["timely"] is True
        assert entries[1]["reverses_id"] == entries[0]["id"]
        assert {e["staff"] for e in entries} == {"李台区"} and {e["order_number"] for e in entries} == {order.number}
        # the person's total for the order is one evaluation
        assert body["total_points"] == 3.0
        assert ledger(leader, staff="manager1", month="2026-11")["total_points"] == 3.0

        # the ledger screen: manager1's month, drilled down to the three entries with their rules
        manager1 = staff(db_session, "manager1")
        screen = login_as("leader1")
        month = screen.get("/workpoints/?month=2026-11").get_data(as_text=True)
        assert f'data-staff="{manager1.id}" data-points="3.00"' in month
        page = screen.get(f"/workpoints/person/{manager1.id}?month=2026-11").get_data(as_text=True)
        assert page.count('class="ledger-entry" data-kind="points"') == 2
        assert page.count('class="ledger-entry" data-kind="reversal"') == 1
        assert 'id="person-total">3.00<' in page and "办结基础分 (+2.00)、及时办结 (+1.00)" in page


def test_completed_task_earns_its_template_points_through_the_rules_once(db_session, api_as):
    from decimal import Decimal

    from app.channels import tasks
    from app.models.channel import TaskTemplate
    from tests.factories import grid

    with time_machine.travel(NOVEMBER_20, tick=False):
        default_scoring(db_session)
        db_session.add(TaskTemplate(title="每周台区巡视", kind="patrol", content="巡视", recurrence="weekly",
                                    station_id=grid(db_session, "ST001-G01").station_id,
                                    assignee_id=staff(db_session, "manager1").id, deadline_working_days=3,
                                    work_points=Decimal("5")))
        db_session.commit()
        order = tasks.generate_due_tasks(db_session)[0]
        db_session.commit()
        leader, manager = api_as("leader1"), api_as("manager1")
        act(manager, order.id, "accept")
        act(manager, order.id, "resolve", resolution="巡视完毕")
        act(leader, order.id, "verify")  # complete: the task's scoring event
        act(leader, order.id, "evaluate", score=95)  # a task earns nothing more for its evaluation
        act(leader, order.id, "reopen", reason="漏巡一处")
        act(manager, order.id, "accept")
        act(manager, order.id, "resolve", resolution="补巡完毕")
        act(leader, order.id, "verify")

        body = ledger(leader, staff="manager1")
        assert [(e["kind"], e["source_type"], e["points"], e["rule_name"]) for e in reversed(body["result"])] == [
            ("points", "task", 5.0, "任务工分"), ("reversal", "task", -5.0, "任务工分"),
            ("points", "task", 5.0, "任务工分")]
        assert body["total_points"] == 5.0


def test_a_merged_duplicate_earns_nothing_under_the_default_rules(db_session, api_as, login_as):
    from app.models.channel import DuplicateReview

    with time_machine.travel(NOVEMBER_20, tick=False):
        default_scoring(db_session)
        parent = make_order(db_session, "ST001-G01", channel="hotline_12345", content="楼道灯不亮好几天了",
                            phone="13800001111")
        child = make_order(db_session, "ST001-G01", channel="city_call", content="楼道灯好几天不亮了",
                           phone="13800001111")
        review = db_session.scalar(select(DuplicateReview))
        db_session.rollback()
        screen = login_as("leader1")  # the team leader merges the flagged duplicate on the screen
        listing = screen.get("/duplicatereviewview/list/").get_data(as_text=True)
        screen.post("/duplicatereviewview/action_post",
                    data={"action": "merge", "rowid": [review.id], "csrf_token": csrf_from(listing)})
        leader, manager = api_as("leader1"), api_as("manager1")
        for order in (parent, child):
            act(leader, order.id, "dispatch", assignee="manager1")
            act(manager, order.id, "accept")
        act(manager, parent.id, "resolve", resolution="已维修")  # the merged order follows its parent
        act(leader, parent.id, "verify")
        act(leader, parent.id, "evaluate", score=90)
        db_session.rollback()  # a fresh snapshot
        merged = db_session.get(WorkOrder, child.id)
        assert (merged.parent_id, merged.state) == (parent.id, "evaluated")

        assert [e["points"] for e in ledger(leader, source="work_order", source_id=parent.id)["result"]] == [3.0]
        assert ledger(leader, source="work_order", source_id=child.id)["result"] == []


def test_outage_children_earn_only_what_a_rule_about_them_says(db_session, api_as):
    from tests.rules_helpers import act as action, cond, rule, save

    with time_machine.travel(NOVEMBER_20, tick=False):
        save(db_session, "scoring", "停电工分", [
            rule("办结", {"all": [cond("source_type", "contains", "work_order")]}, action("award", points=2)),
            rule("停电子单", {"all": [cond("order_link", "contains", "outage_child")]}, action("award", points=0.5)),
        ])
        engine.clear_cache()
        parent = make_order(db_session, "ST001-G01", demand_type="urgent", content="台区停电")
        child = make_order(db_session, "ST001-G01", demand_type="urgent", content="家里停电了")
        child.parent_id = parent.id  # grouped under the outage parent
        db_session.commit()
        leader, manager = api_as("leader1"), api_as("manager1")
        act(leader, parent.id, "dispatch", assignee="manager1")
        act(manager, parent.id, "accept")
        act(manager, parent.id, "resolve", resolution="已恢复送电")
        act(leader, parent.id, "verify")
        act(leader, parent.id, "evaluate", score=90)

        assert [(e["rule_name"], e["points"]) for e in ledger(leader, source_id=parent.id)["result"]] == [("办结", 2.0)]
        assert [(e["rule_name"], e["points"]) for e in ledger(leader, source_id=child.id)["result"]] == [
            ("停电子单", 0.5)]


def test_visit_recorded_through_the_api_and_the_screen_earns_points_through_the_active_rules(
        db_session, api_as, login_as):
    with time_machine.travel(NOVEMBER_20, tick=False):
        default_scoring(db_session)
        first = make_customer(db_session, "ST001-G01")
        second = make_customer(db_session, "ST001-G02")
        assert api_as("manager1").post(f"/api/v1/onsite/customers/{first.id}/visits",
                                       json={"contact_confirmed": True, "note": "走访"}).status_code == 201
        browser = login_as("manager1")
        token = csrf_from(browser.get(f"/onsite/customer/{second.id}").get_data(as_text=True))
        done = browser.post(f"/onsite/customer/{second.id}/visit", data={"csrf_token": token, "note": "上门走访"},
                            follow_redirects=True)
        assert done.status_code == 200
        db_session.rollback()  # a fresh snapshot
        visits = db_session.scalars(select(Visit.id).order_by(Visit.id)).all()
        assert len(visits) == 2

        body = ledger(api_as("leader1"), source="visit")
        assert sorted((e["source_id"], e["points"], e["rule_set"], e["rule_name"], e["staff"])
                      for e in body["result"]) == [
            (visits[0], 1.0, "工分标准", "客户走访", "李台区"), (visits[1], 1.0, "工分标准", "客户走访", "李台区")]
        assert body["total_points"] == 2.0


def test_ledger_api_filters_and_scope(db_session, api_as, login_as):
    with time_machine.travel(NOVEMBER_20, tick=False):
        default_scoring(db_session)
        customers = [(username, make_customer(db_session, grid_code)) for username, grid_code in (
            ("manager1", "ST001-G01"), ("manager2", "ST001-G04"), ("st2_manager1", "ST002-G01"))]
        db_session.rollback()
        for username, customer in customers:
            assert api_as(username).post(f"/api/v1/onsite/customers/{customer.id}/visits",
                                         json={"note": "走访"}).status_code == 201
        manager1 = api_as("manager1")
        # a district manager sees only their own entries…
        assert {e["staff"] for e in ledger(manager1)["result"]} == {"李台区"}
        # …and asking for someone else's is refused
        refused = manager1.get("/api/v1/workpoint/?staff=manager2")
        assert refused.status_code == 403
        # a team leader sees the team, not another station
        leader = api_as("leader1")
        assert sorted(e["staff"] for e in ledger(leader)["result"]) == ["张台区", "李台区"]
        assert [e["staff"] for e in ledger(leader, staff="manager2")["result"]] == ["张台区"]
        assert leader.get("/api/v1/workpoint/?staff=st2_manager1").status_code == 403
        # month and source filters
        assert len(ledger(leader, month="2026-11")["result"]) == 2
        assert ledger(leader, month="2026-10")["result"] == []
        assert ledger(leader, source="task")["result"] == []
        bad_source = leader.get("/api/v1/workpoint/?source=bonus")
        assert bad_source.status_code == 400 and bad_source.get_json()["field"] == "source"
        bad_month = leader.get("/api/v1/workpoint/?month=2026-13")
        assert bad_month.status_code == 400 and bad_month.get_json()["field"] == "month"
        # roles without the ledger (an operator) are refused
        assert api_as("operator1").get("/api/v1/workpoint/").status_code == 403
        # the screen keeps the same scope
        screen = login_as("manager1")
        page = screen.get("/workpoints/?month=2026-11").get_data(as_text=True)
        assert page.count('class="ledger-person"') == 1 and "李台区" in page
        other = staff(db_session, "manager2").id
        assert screen.get(f"/workpoints/person/{other}?month=2026-11").status_code == 403


@pytest.mark.parametrize(("how", "channel"), [("form", "web"), ("api", "api"), ("mobile", "mobile")])
def test_every_successful_login_is_kept_with_its_channel(db_session, app, how, channel):
    client = app.test_client()
    with time_machine.travel(NOVEMBER_20, tick=False):
        if how == "form":
            token = csrf_from(client.get("/login/").get_data(as_text=True))
            client.post("/login/", data={"username": "manager2", "password": "GridCare#2026", "csrf_token": token})
        else:
            headers = {"X-GridCare-Client": "mobile"} if how == "mobile" else {}
            assert client.post("/api/v1/security/login", headers=headers, json={
                "username": "manager2", "password": "GridCare#2026", "provider": "db"}).status_code == 200
        # a wrong password is no login
        client.post("/api/v1/security/login", json={"username": "manager2", "password": "wrong", "provider": "db"})
    rows = db_session.execute(select(LoginRecord.channel, LoginRecord.logged_in_at)).all()
    assert rows == [(channel, NOVEMBER_20.astimezone(dt.timezone.utc))]
    assert staff(db_session, "manager2").user_id == db_session.scalar(select(LoginRecord.user_id))


def test_leader_drills_down_from_the_months_ledger_to_a_persons_entries_in_the_browser(
        db_session, api_as, page, live_server):
    from tests.browser import sign_in

    default_scoring(db_session)
    customer = make_customer(db_session, "ST001-G04")
    db_session.rollback()
    assert api_as("manager2").post(f"/api/v1/onsite/customers/{customer.id}/visits",
                                   json={"note": "走访"}).status_code == 201
    sign_in(page, live_server, "leader1")
    page.goto(f"{live_server}/workpoints/")
    assert "工分台账" in page.inner_text("body")
    page.click("#ledger-totals a:has-text('张台区')")
    page.wait_for_selector("#ledger-entries")
    entry = page.inner_text("#ledger-entries tbody tr")
    assert "走访" in entry and "客户走访 (+1.00)" in entry and "工分标准 v1" in entry
    assert page.inner_text("#person-total") == "1.00"
    assert page.csp_violations == []
