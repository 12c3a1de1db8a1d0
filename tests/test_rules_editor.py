"""The rule editor in the browser: an administrator builds, saves, rolls back and dry-runs rules."""

from __future__ import annotations

import json
import re

from sqlalchemy import func, select

from app.models.rules import RoundRobinCursor, RuleFiring, RuleSet, RuleSetVersion
from app.models.workorder import WorkOrder
from app.workflow import calendar
from tests.conftest import csrf_from
from tests.factories import make_order, staff
from tests.rules_helpers import HOTLINE_POWER_CUT, MONDAY_10, act, cond, rule, save


def _editor_form(page_html, **fields):
    """The fields the editor page posts: its hidden inputs plus what the user filled in."""
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)"[^>]*value="([^"]*)"', page_html))
    hidden["csrf_token"] = csrf_from(page_html)
    hidden.update(fields)
    return hidden


def test_admin_creates_hotline_rule_in_browser_and_next_orders_follow_it(db_session, login_as):
    admin = login_as("admin")
    page = admin.get("/rules/new/routing")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    # the drop-downs come from export_rule_data, the script from our own static files
    data = json.loads(re.search(r'<script type="application/json" id="rule-data">(.*?)</script>', html, re.S).group(1))
    channel = next(v for v in data["variables"] if v["name"] == "channel")
    assert "hotline_12345" in [o["name"] for o in channel["options"]]
    assert "contains" in [o["name"] for o in data["variable_type_operators"]["string"]]
    assert "escalate_to_station_manager" in [a["name"] for a in data["actions"]]
    assert "/static/rules/editor.js" in html and "cdn" not in html.lower()
    assert admin.get("/static/rules/editor.js").status_code == 200

    saved = admin.post("/rules/save", data=_editor_form(
        html, name="12345投诉", priority="100", active="on", comment="第一版",
        rules_json=json.dumps([HOTLINE_POWER_CUT], ensure_ascii=False)))
    assert saved.status_code == 302, saved.get_data(as_text=True)

    db_session.rollback()
    rule_set = db_session.scalar(select(RuleSet).where(RuleSet.name == "12345投诉"))
    assert rule_set.active and rule_set.version == 1 and rule_set.updated_by == "admin"
    matching = make_order(db_session, channel="hotline_12345", demand_type="complaint",
                          content="整栋楼停电三小时", received_at=MONDAY_10)
    other = make_order(db_session, channel="hotline_12345", demand_type="consultation",
                       content="咨询停电计划", received_at=MONDAY_10)
    assert matching.assignee_id == staff(db_session, "director1").id
    assert matching.deadline == calendar.add_working_days(MONDAY_10, 1)
    assert other.assignee_id == staff(db_session, "manager1").id

    listing = admin.get("/rules/").get_data(as_text=True)
    assert "12345投诉" in listing


def test_invalid_rule_posted_from_editor_is_refused_and_active_version_kept(db_session, login_as):
    rule_set = save(db_session, "routing", "12345投诉", [HOTLINE_POWER_CUT])
    admin = login_as("admin")
    html = admin.get(f"/rules/edit/{rule_set.id}").get_data(as_text=True)
    bad = [rule("12345停电投诉", {"all": [cond("demand_type", "contains", "complaint"),
                                          cond("channel", "foo", "hotline_12345")]},
                act("assign_grid_manager"))]
    refused = admin.post("/rules/save", data=_editor_form(html, name="12345投诉", priority="100",
                                                          active="on", rules_json=json.dumps(bad)))
    assert refused.status_code == 400
    assert "conditions.all[1]: unknown operator &#39;foo&#39; for variable &#39;channel&#39;" in \
        refused.get_data(as_text=True)

    db_session.rollback()
    assert db_session.get(RuleSet, rule_set.id).version == 1
    order = make_order(db_session, channel="hotline_12345", demand_type="complaint", content="停电")
    assert order.assignee_id == staff(db_session, "director1").id


def test_rollback_and_diff_from_the_history_page(db_session, login_as):
    first = [rule("投诉", {"all": [cond("demand_type", "contains", "complaint")]}, act("assign_person", staff="manager2"))]
    second = [rule("投诉", {"all": [cond("demand_type", "contains", "complaint")]}, act("assign_person", staff="manager3"))]
    rule_set = save(db_session, "routing", "投诉派单", first)
    save(db_session, "routing", "投诉派单", second, rule_set_id=rule_set.id)
    admin = login_as("admin")

    diff = admin.get(f"/rules/diff/{rule_set.id}?a=1&b=2").get_data(as_text=True)
    assert "manager2" in diff and "manager3" in diff

    history = admin.get(f"/rules/history/{rule_set.id}").get_data(as_text=True)
    rolled = admin.post(f"/rules/rollback/{rule_set.id}/1", data={"csrf_token": csrf_from(history)})
    assert rolled.status_code == 302
    db_session.rollback()
    assert db_session.get(RuleSet, rule_set.id).version == 3
    order = make_order(db_session, demand_type="complaint", content="投诉")
    assert order.assignee_id == staff(db_session, "manager2").id


def test_dry_run_shows_what_rules_would_do_and_changes_nothing(db_session, login_as):
    orders = [make_order(db_session, channel="hotline_12345", demand_type="complaint", content="停电了"),
              make_order(db_session, demand_type="service", content="检查线路")]
    save(db_session, "routing", "12345投诉", [HOTLINE_POWER_CUT])
    save(db_session, "routing", "轮派", [rule("服务轮派", {"all": [cond("demand_type", "contains", "service")]},
                                             act("assign_team_round_robin", team="ST001-T01"))], priority=10)
    before = (db_session.scalar(select(func.count()).select_from(RuleFiring)),
              [(o.state, o.assignee_id, o.deadline) for o in db_session.scalars(select(WorkOrder).order_by(WorkOrder.id))])

    admin = login_as("admin")
    page = admin.get("/rules/dryrun?domain=routing").get_data(as_text=True)
    result = admin.post("/rules/dryrun", data={"csrf_token": csrf_from(page), "domain": "routing", "last_n": "5"})
    html = result.get_data(as_text=True)
    assert result.status_code == 200
    assert "12345投诉/12345停电投诉" in html and "周所长" in html
    assert "轮派/服务轮派" in html

    db_session.rollback()
    after = (db_session.scalar(select(func.count()).select_from(RuleFiring)),
             [(o.state, o.assignee_id, o.deadline) for o in db_session.scalars(select(WorkOrder).order_by(WorkOrder.id))])
    assert after == before
    assert db_session.scalar(select(func.count()).select_from(RoundRobinCursor)) == 0
    assert len(orders) == 2


def test_dry_run_of_an_unsaved_draft_from_the_editor(db_session, login_as):
    make_order(db_session, channel="hotline_12345", demand_type="complaint", content="停电")
    admin = login_as("admin")
    html = admin.get("/rules/new/routing").get_data(as_text=True)
    result = admin.post("/rules/dryrun", data=_editor_form(
        html, name="草稿", rules_json=json.dumps([HOTLINE_POWER_CUT], ensure_ascii=False), draft="1"))
    assert result.status_code == 200
    assert "draft/12345停电投诉" in result.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(RuleSet)) == 0


def test_only_administrators_reach_the_rule_editor(db_session, login_as):
    for username in ("director1", "leader1", "manager1", "operator1"):
        client = login_as(username)
        assert client.get("/rules/").status_code in (302, 403)
        assert client.get("/rules/new/routing").status_code in (302, 403)
        page = client.get("/resetmypassword/form").get_data(as_text=True)
        refused = client.post("/rules/save", data={"csrf_token": csrf_from(page), "domain": "routing",
                                                   "name": "x", "rules_json": "[]"})
        assert refused.status_code in (302, 403)
        assert client.post("/rules/dryrun", data={"csrf_token": csrf_from(page), "domain": "routing"}
                           ).status_code in (302, 403)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(RuleSetVersion)) == 0


def test_activating_a_rule_set_that_no_longer_validates_is_refused(db_session, login_as):
    rule_set = save(db_session, "routing", "旧规则", [HOTLINE_POWER_CUT], active=False)
    # a version written before a variable was retired (or edited in the database by hand)
    version = db_session.scalar(select(RuleSetVersion).where(RuleSetVersion.rule_set_id == rule_set.id))
    version.rules = [rule("旧", {"all": [cond("weather", "equal_to", "rain")]}, act("flag_sensitive"))]
    db_session.commit()

    admin = login_as("admin")
    listing = admin.get("/rules/").get_data(as_text=True)
    refused = admin.post(f"/rules/activate/{rule_set.id}", data={"csrf_token": csrf_from(listing), "active": "true"},
                         follow_redirects=True)
    assert "conditions.all[0]: unknown variable &#39;weather&#39;" in refused.get_data(as_text=True)
    db_session.rollback()
    assert db_session.get(RuleSet, rule_set.id).active is False
