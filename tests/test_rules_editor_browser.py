"""The rule editor in a real browser: the routing rule is built from drop-downs only."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from app.models.rules import RuleSet
from app.rules.store import version_of
from tests.conftest import PASSWORD

@pytest.fixture
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_admin_builds_hotline_rule_with_drop_downs_in_the_browser(db_session, live_server, page):
    """Chromium from tests/browser.py (one Playwright per session)."""
    page.set_default_timeout(10000)
    page.goto(f"{live_server}/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.locator("input[type=submit], button[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/rules/new/routing")

    page.click("#add-rule")
    page.fill(".rule-name", "12345停电投诉")

    def condition(i, variable, operator, value=None, text=None):
        row = lambda: page.locator(".rule-condition").nth(i)  # noqa: E731  (re-rendered on change)
        row().locator("select").nth(0).select_option(variable)
        row().locator("select").nth(1).select_option(operator)
        if value is not None:
            row().locator("select").nth(2).select_option(value)
        if text is not None:
            row().locator("input").fill(text)

    add_condition = lambda: page.locator(".rule-group > .form-inline > button").nth(0).click()  # noqa: E731
    condition(0, "channel", "contains", value="hotline_12345")
    add_condition()
    condition(1, "demand_type", "contains", value="complaint")
    add_condition()
    condition(2, "content", "contains", text="停电")

    page.locator(".rule-action").nth(0).locator("select").select_option("escalate_to_station_manager")
    page.locator(".rule .panel-body > button").click()
    page.locator(".rule-action").nth(1).locator("select").select_option("set_deadline_working_days")
    page.locator(".rule-action").nth(1).locator("input").fill("1")

    page.fill("input[name=name]", "12345投诉（浏览器）")
    page.check("input[name=active]")
    page.locator("#rule-form button[type=submit]").first.click()
    page.wait_for_url("**/rules/history/**")

    db_session.rollback()
    rule_set = db_session.scalar(select(RuleSet).where(RuleSet.name == "12345投诉（浏览器）"))
    assert rule_set is not None and rule_set.active
    assert version_of(db_session, rule_set).rules == [{
        "name": "12345停电投诉",
        "conditions": {"all": [
            {"name": "channel", "operator": "contains", "value": "hotline_12345"},
            {"name": "demand_type", "operator": "contains", "value": "complaint"},
            {"name": "content", "operator": "contains", "value": "停电"},
        ]},
        "actions": [{"name": "escalate_to_station_manager", "params": {}},
                    {"name": "set_deadline_working_days", "params": {"days": 1}}],
    }]
