"""Complete Chinese (issue 16): Chromium walks every menu entry of every role and finds no
Latin-script word outside a short allow-list (codes with digits, brand and format names)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import sign_in
from tests.factories import advance, make_customer, make_order

# Brand, format and protocol names a Chinese screen keeps as they are; the month and
# year placeholders of inputs are not visible text.
ALLOWED = {"GridCare", "PDF", "API", "CSV", "XLSX", "JSON", "URL", "HMAC", "SHA", "ID", "OA", "SMS", "AMQP",
           "Excel", "ECharts", "Leaflet", "OpenStreetMap", "kVA", "kWh", "kW", "YYYY", "MM", "DD", "YYYYMM",
           "HH", "SS", "QR", "App", "APP", "GBK", "UTF", "chinesecalendar",
           "admin"}  # the administrator's user name
ROLES = ["admin", "director1", "leader1", "manager1", "operator1"]
# A word of Latin letters only (codes such as ST001-G01, GD20261128-0001 or manager1 hold digits).
WORD = re.compile(r"(?<![\w\-./@:])[A-Za-z][A-Za-z']+(?![\w\-./@:])")


def latin_words(text: str) -> set[str]:
    return {word for word in WORD.findall(text) if word not in ALLOWED}


def _menu_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all(
        ".navbar-collapse ul.nav a[href]", "links => links.map(a => a.getAttribute('href'))")
    return sorted({h for h in hrefs if h and h.startswith("/") and "/logout" not in h and "/lang/" not in h})


def _visible_text(page) -> str:
    """What the screen says: the body's text (without what it shows as code: commands, record
    codes), the page title, buttons' values and fields' placeholders (a user reads those too)."""
    body = page.evaluate("() => { document.querySelectorAll('code').forEach(e => { e.style.display = 'none'; });"
                         " return document.body.innerText; }")
    return "\n".join([page.title(), body, *page.eval_on_selector_all(
        "input[placeholder], input[type=submit][value], input[type=button][value]",
        "els => els.map(e => (e.getAttribute('placeholder') || '') + ' ' + "
        "(e.type === 'submit' || e.type === 'button' ? e.value : ''))")])


def _some_work(session) -> Any:
    """A customer without tags, with a praise order and an evaluated one, so that lists show
    rows (states, types, tags, times), not only their headings."""
    customer = make_customer(session, "ST001-G01")
    praise = make_order(session, "ST001-G01", demand_type="praise", content="表扬台区经理", customer_no=customer.customer_no)
    done = make_order(session, "ST001-G02", demand_type="complaint", content="电压低投诉")
    advance(session, done, ("dispatch", "leader1", {"assignee": "manager1"}), ("accept", "manager1", {}),
            ("resolve", "manager1", {"resolution": "已调整变压器分接头"}), ("verify", "leader1", {}),
            ("evaluate", "leader1", {"score": 95}))
    return customer, praise


@pytest.mark.parametrize("username", ROLES)
def test_every_menu_entry_of_every_role_is_chinese_in_the_browser(db_session, page, live_server, username):
    _some_work(db_session)
    sign_in(page, live_server, username)
    links = _menu_links(page)
    assert links, "no menu entries"
    found: dict[str, set[str]] = {}
    for href in [page.url.replace(live_server, ""), *links]:
        page.goto(f"{live_server}{href}")
        words = latin_words(_visible_text(page))
        if words:
            found[href] = words
    assert found == {}, "\n".join(f"{href}: {sorted(words)}" for href, words in sorted(found.items()))


def test_visit_page_names_order_types_and_states_in_chinese(db_session, login_as):
    customer, praise = _some_work(db_session)
    html = login_as("manager1").get(f"/onsite/customer/{customer.id}").get_data(as_text=True)
    assert praise.number in html and "表扬" in html and "已受理" in html
    assert ">praise<" not in html and ">registered<" not in html


def test_customer_list_shows_no_empty_brackets_for_tags(db_session, login_as):
    customer, _ = _some_work(db_session)
    html = login_as("leader1").get("/customerview/list/").get_data(as_text=True)
    assert customer.name in html and not re.search(r">\s*\[\]\s*<", html)


def test_rule_editor_pages_are_chinese_in_the_browser(db_session, page, live_server):
    from tests.rules_helpers import act, cond, rule, save

    _some_work(db_session)
    first = save(db_session, "routing", "投诉派单", [rule("投诉加急", {"all": [cond("demand_type", "contains", "complaint")]},
                                                    act("set_priority", priority="urgent"))])
    save(db_session, "routing", "投诉派单", [rule("投诉加急", {"all": [cond("demand_type", "contains", "complaint")]},
                                               act("set_priority", priority="high"))], rule_set_id=first.id)
    sign_in(page, live_server, "admin")
    found: dict[str, set[str]] = {}
    for href in ["/rules/", "/rules/new/routing", f"/rules/edit/{first.id}", f"/rules/history/{first.id}",
                 f"/rules/diff/{first.id}?a=1&b=2", "/rules/dryrun?domain=routing"]:
        page.goto(f"{live_server}{href}")
        if href.startswith("/rules/edit"):
            page.click("#draft-dry-run-button")
            page.wait_for_selector("#draft-dry-run-table")
        if href.startswith("/rules/dryrun"):
            page.click("#dryrun-form button[type=submit]")
            page.wait_for_selector("#dryrun-result")
        words = latin_words(_visible_text(page))
        if words:
            found[href] = words
    assert found == {}, "\n".join(f"{href}: {sorted(words)}" for href, words in sorted(found.items()))
