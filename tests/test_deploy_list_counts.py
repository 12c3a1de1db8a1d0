"""List screens count exactly when the list is short and show the planner's estimate,
labelled "约 …", when it is long (PostgreSQL); other databases always count exactly."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import text

from tests.factories import make_customer, make_order


@contextmanager
def _threshold(app, value):
    before = app.config.get("LIST_COUNT_ESTIMATE_THRESHOLD")
    app.config["LIST_COUNT_ESTIMATE_THRESHOLD"] = value
    try:
        yield
    finally:
        app.config["LIST_COUNT_ESTIMATE_THRESHOLD"] = before


def _record_count(html):
    """FAB's "Record Count" widget, or the order list's own "共 12 张工单"."""
    match = re.search(r"Record Count[^<]*</strong>\s*([^<]+?)\s*<|记录数[^<]*</strong>\s*([^<]+?)\s*<"
                      r"|id=\"order-count\"[^>]*>\s*共\s*([^<]+?)\s*张工单\s*<", html)
    assert match, "no record count on the page"
    return next(g for g in match.groups() if g).strip()


LISTS = pytest.mark.parametrize("url", ["/workorderview/list/", "/customerview/list/"])


def _orders(db_session, n):
    for i in range(n):
        customer = make_customer(db_session, f"ST001-G0{1 + i % 3}")
        make_order(db_session, f"ST001-G0{1 + i % 3}", customer_no=customer.customer_no)
    db_session.commit()


@LISTS
def test_short_list_is_counted_exactly(app, db_session, login_as, url):
    _orders(db_session, 12)
    client = login_as("admin")
    with _threshold(app, 1000):
        html = client.get(url).get_data(as_text=True)
    assert _record_count(html) == "12"


@LISTS
def test_long_list_shows_the_labelled_planner_estimate_on_postgresql(app, db_session, login_as, url):
    _orders(db_session, 12)
    client = login_as("admin")
    table = "work_order" if "workorder" in url else "customer"
    if db_session.get_bind().dialect.name == "postgresql":
        db_session.execute(text(f"ANALYZE {table}"))
        db_session.commit()
        estimate = db_session.execute(text(f"EXPLAIN (FORMAT JSON) SELECT * FROM {table}")).scalar()
        expected = f"约 {int(estimate[0]['Plan']['Plan Rows']):,}"
    else:
        expected = "12"  # MariaDB and SQLite: counted exactly whatever the size
    with _threshold(app, 5):
        html = client.get(url).get_data(as_text=True)
    assert _record_count(html) == expected


def test_estimate_behaves_as_a_number_for_pagination():
    from app.views.datamodel import EstimatedCount

    count = EstimatedCount(1234000)
    assert count / 25 == 49360 and count > 0
    assert count.estimated
