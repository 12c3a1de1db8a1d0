"""A rule editor that keeps the draft (issue 16): the dry run runs inside the editor on the
unsaved draft and shows each sample's priority, assignee and points in Chinese; version
diffs read as rules in Chinese; rollback asks first."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from app.models.rules import RuleSet
from tests.browser import sign_in
from tests.conftest import csrf_from
from tests.factories import make_order
from tests.rules_helpers import act, cond, rule, save

URGENT_HOTLINE = rule("12345投诉加急", {"all": [cond("channel", "contains", "hotline_12345"),
                                             cond("demand_type", "contains", "complaint")]},
                      act("set_priority", priority="urgent"), act("assign_person", staff="manager2"))


def test_a_draft_rule_survives_a_dry_run_in_the_browser(db_session, page, live_server):
    hotline = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                         content="电压不稳投诉")
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/rules/new/routing")
    page.fill("input[name=name]", "草稿规则集")
    page.click("#add-rule")
    page.fill(".rule-name", "12345投诉加急")
    row = lambda: page.locator(".rule-condition").nth(0)  # noqa: E731  (re-rendered on change)
    row().locator("select").nth(0).select_option("channel")
    row().locator("select").nth(1).select_option("contains")
    row().locator("select").nth(2).select_option("hotline_12345")
    action = lambda: page.locator(".rule-action").nth(0)  # noqa: E731
    action().locator("select").nth(0).select_option("set_priority")
    action().locator("select").nth(1).select_option("urgent")
    editor_url = page.url

    page.fill("#draft-dry-run-subjects", hotline.number)
    page.click("#draft-dry-run-button")
    page.wait_for_selector("#draft-dry-run-table tr.draft-dry-run-row")
    cells = page.locator("tr.draft-dry-run-row").first.locator("td").all_inner_texts()
    assert hotline.number in cells[0]
    assert cells[1] == "紧急"  # the resulting priority, in Chinese
    assert cells[2] == "李台区"  # no assigning rule: the grid's district manager
    assert "设置优先级" in cells[4] and "紧急" in cells[4] and "set_priority" not in cells[4]

    # Still in the editor, the draft untouched and unsaved.
    assert page.url == editor_url
    assert page.input_value("input[name=name]") == "草稿规则集"
    assert page.input_value(".rule-name") == "12345投诉加急"
    assert json.loads(page.input_value("#rules-json"))[0]["actions"][0]["params"] == {"priority": "urgent"}
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(RuleSet)) == 0
    page.locator("#rule-form button[type=submit]").first.click()
    page.wait_for_url("**/rules/history/**")
    db_session.rollback()
    assert db_session.scalar(select(RuleSet.name)) == "草稿规则集"
    assert page.csp_violations == []


def test_rollback_asks_first_in_the_browser(db_session, page, live_server):
    first = save(db_session, "routing", "投诉派单", [URGENT_HOTLINE])
    changed = rule("12345投诉加急", URGENT_HOTLINE["conditions"], act("set_priority", priority="high"))
    save(db_session, "routing", "投诉派单", [changed], rule_set_id=first.id)
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server}/rules/history/{first.id}")
    asked: list[str] = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.click(".rollback-form button[type=submit]")
    page.wait_for_timeout(300)
    assert asked and "版本 1" in asked[0]
    db_session.rollback()
    assert db_session.get(RuleSet, first.id).version == 2  # refused: nothing rolled back

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(".rollback-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    db_session.rollback()
    assert db_session.get(RuleSet, first.id).version == 3
    assert "回滚到版本 1" in page.inner_text("#versions")


def test_version_diff_reads_as_rules_in_chinese(db_session, login_as):
    first = save(db_session, "routing", "投诉派单", [URGENT_HOTLINE])
    changed = rule("12345投诉加急", URGENT_HOTLINE["conditions"], act("set_priority", priority="high"))
    save(db_session, "routing", "投诉派单", [changed], rule_set_id=first.id)
    html = login_as("admin").get(f"/rules/diff/{first.id}?a=1&b=2").get_data(as_text=True)
    assert 'data-status="changed"' in html
    assert "如果" in html and "设置优先级" in html and "紧急" in html and "高" in html
    assert '"conditions"' not in html and "set_priority" not in html and "&#34;name&#34;" not in html


def test_draft_dry_run_refuses_bad_input_and_needs_the_csrf_token(db_session, login_as):
    admin = login_as("admin")
    token = csrf_from(admin.get("/rules/new/routing").get_data(as_text=True))
    headers = {"X-CSRFToken": token}
    bad = admin.post("/rules/dryrun/draft", json={"domain": "routing", "rules": "x"}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["field"] == "rules"
    unknown = admin.post("/rules/dryrun/draft", json={"domain": "nope", "rules": []}, headers=headers)
    assert unknown.status_code == 400 and unknown.get_json()["field"] == "domain"
    assert admin.post("/rules/dryrun/draft", json={"domain": "routing", "rules": []}).status_code == 400
    manager = login_as("manager1")
    own = {"X-CSRFToken": csrf_from(manager.get("/workorderview/list/").get_data(as_text=True))}
    refused = manager.post("/rules/dryrun/draft", json={"domain": "routing", "rules": []}, headers=own)
    assert refused.status_code == 403
