"""Every list screen runs the same number of queries whatever its page size (no N+1)."""

from __future__ import annotations


from sqlalchemy import event

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
