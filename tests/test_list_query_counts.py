"""Every list screen runs the same number of queries whatever its page size (no N+1), and
whatever the number of rows behind it; an order page whatever the length of its timeline."""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import event, select

from tests.factories import make_customer, make_order


def _screens(app):
    from flask_appbuilder import ModelView

    from app.extensions import appbuilder

    urls = []
    for view in appbuilder.baseviews:
        if isinstance(view, ModelView) and type(view).__module__.startswith("app."):
            urls.append((type(view).__name__, f"{view.route_base}/list/"))
    return urls


def _count_queries(app, client, url):
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    statements = []

    def _count(conn, cursor, statement, *args):  # noqa: ANN001
        # The statutory calendar is reloaded when its per-year cache expires (a clock, not the
        # rows on the page, decides when): not a query of the list.
        if "calendar_year" not in statement and "calendar_day" not in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    assert response.status_code == 200, (url, response.status_code)
    return len(statements)


def test_every_list_screen_has_a_constant_query_count(app, db_session, login_as):
    for n in range(12):
        customer = make_customer(db_session, f"ST001-G0{1 + n % 6}")
        make_order(db_session, f"ST001-G0{1 + n % 6}", customer_no=customer.customer_no)
    admin = login_as("admin")
    screens = _screens(app)
    assert len(screens) >= 8
    grown = []
    for name, url in screens:
        small = _count_queries(app, admin, f"{url}?psize_{name}=3")
        large = _count_queries(app, admin, f"{url}?psize_{name}=10")
        if large > small:
            grown.append(f"{name}: {small} queries at 3 rows, {large} at 10")
    assert not grown, grown


# --- every list screen at scale: the count does not grow with the rows ---------------------
def _customers_with_bills_and_tags(db_session, n, months=3):
    from app.models.customer import Bill, CustomerTag

    tags = db_session.scalars(select(CustomerTag)).all()
    for i in range(n):
        customer = make_customer(db_session, f"ST001-G0{1 + i % 3}")
        customer.tags = tags[: 1 + i % len(tags)]
        for m in range(months):
            db_session.add(Bill(customer_id=customer.id, period=f"2026{m + 1:02d}", total_kwh=Decimal(200 + i),
                                peak_kwh=Decimal(90), flat_kwh=Decimal(50), valley_kwh=Decimal(60),
                                amount_yuan=Decimal("107.60")))
    db_session.commit()


def _grown(app, client, db_session, urls):
    before = {url: _count_queries(app, client, url) for url in urls}
    _customers_with_bills_and_tags(db_session, 30)  # more than a page (25)
    after = {url: _count_queries(app, client, url) for url in urls}
    return {url: (before[url], after[url]) for url in urls if after[url] > before[url]}


def test_customer_archive_queries_do_not_grow_with_customers(app, db_session, login_as):
    _customers_with_bills_and_tags(db_session, 2)
    urls = ["/customerview/list/", "/customerview/list/?_flt_2_name=测试",
            "/customerview/list/?_flt_0_customer_no=339"]
    assert _grown(app, login_as("leader1"), db_session, urls) == {}


def test_bills_list_queries_do_not_grow_with_bills(app, db_session, login_as):
    _customers_with_bills_and_tags(db_session, 2)
    urls = ["/billview/list/", "/billview/list/?_flt_3_period=202602"]
    assert _grown(app, login_as("leader1"), db_session, urls) == {}


def test_province_bills_list_is_not_joined_with_every_customer(app, db_session, login_as):
    _customers_with_bills_and_tags(db_session, 2)
    statements = _statements(app, login_as("admin"), "/billview/list/")
    pages = [s for s in statements if "FROM customer_bill" in s]
    assert pages and not any("customer.id" in s and "IN (SELECT" in s for s in pages), pages


# --- the order page with a long timeline ---------------------------------------------------
def _urged(db_session, order, times):
    from tests.factories import advance

    return advance(db_session, order, *([("urge", "leader1", {"note": "客户来电催办"})] * times))


def test_long_timeline_page_runs_as_many_queries_as_a_short_one(app, db_session, login_as):
    short, long = make_order(db_session), make_order(db_session)
    _urged(db_session, long, 120)
    leader = login_as("leader1")
    assert _count_queries(app, leader, f"/workorderview/show/{long.id}") == \
        _count_queries(app, leader, f"/workorderview/show/{short.id}")
    steps = [s for s in _statements(app, leader, f"/workorderview/show/{long.id}") if "work_order_event" in s]
    assert len(steps) == 1, steps


def test_long_timeline_shows_its_first_and_latest_steps_and_unfolds_on_demand(app, db_session, login_as):
    from app.views.order_timeline import LATEST

    order = _urged(db_session, make_order(db_session), 120)  # registration + 120 urges
    leader = login_as("leader1")
    page = leader.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    shown = re.findall(r'class="timeline-event" data-action="(\w+)" data-step="(\d+)"', page)
    assert shown[0] == ("register", "1")
    assert [int(step) for _, step in shown[1:]] == list(range(121 - LATEST + 1, 122))
    assert f"已折叠 {121 - 1 - LATEST} 个较早的步骤" in page
    whole = leader.get(f"/workorderview/show/{order.id}?timeline=all").get_data(as_text=True)
    assert len(re.findall(r'class="timeline-event"', whole)) == 121
    assert "timeline-folded" not in whole


def test_short_timeline_is_shown_whole(app, db_session, login_as):
    order = _urged(db_session, make_order(db_session), 5)
    page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert len(re.findall(r'class="timeline-event"', page)) == 6
    assert "timeline-folded" not in page


def test_order_page_outside_the_viewers_scope_or_not_an_id_is_404(app, db_session, login_as):
    order = make_order(db_session, "ST002-G01", by="operator2")
    leader = login_as("leader1")
    assert leader.get(f"/workorderview/show/{order.id}").status_code == 404
    assert leader.get("/workorderview/show/abc").status_code == 404
    assert leader.get("/workorderview/show/99999999999").status_code == 404


def _statements(app, client, url):
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen = []

    def _record(conn, cursor, statement, *args):  # noqa: ANN001
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", _record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    return seen
