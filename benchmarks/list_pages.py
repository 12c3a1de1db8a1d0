"""List screens and list APIs at scale: a team leader's order list (filtered by state, sorted
by deadline) against the same queries in raw SQL, and API page 500 against page 1; then every
other list screen at scale — the customer archive (a customer per row, a million in all), the
bills (twelve a customer), each as a team leader and as the province's administrator, plain
and with a search staff type — and the detail page of an order with a 200-step timeline.
Each screen's p95 stands against the goal of issue 18: < 150 ms.

"The same queries in raw SQL" are the very statements the screen sent to the database
(captured while it rendered the page: the signed-in user, the capped count, the page with
grid and assignee names), replayed with their parameters through psycopg on one connection.
The ratio is therefore the application's whole overhead (routing, session, permissions,
row scope, rendering) over the database's share of the page."""

from __future__ import annotations

import re

from benchmarks.common import Context, median, percentile, timed


GOAL_MS = 150.0
TIMELINE_STEPS = 200


def signed_in(app, username: str):  # noqa: ANN001, ANN201
    """A test client signed in through the login form."""
    client = app.test_client()
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    client.post("/login/", data={"username": username, "password": "GridCare#2026", "csrf_token": token})
    return client


def run(ctx: Context) -> None:
    import psycopg

    app = ctx.app
    client = signed_in(app, "sc001_leader")
    # The filter bar's state drop-down: state equal to "accepted" (FAB's filter index 3).
    url = "/workorderview/list/?_flt_3_state=accepted&_oc_WorkOrderView=deadline&_od_WorkOrderView=asc"
    assert client.get(url).status_code == 200
    statements = _statements_of(app, lambda: client.get(url))

    raw_url = ctx.database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw_url) as conn:
        def raw() -> None:
            for statement, parameters in statements:
                conn.execute(statement, parameters).fetchall()

        # Alternate the two, so that both see the same machine (it is shared, and drifts).
        screen, raw_samples = [], []
        for _ in range(5):
            client.get(url), raw()
        for _ in range(100):
            screen += timed(lambda: client.get(url), repeat=1, warmup=0)
            raw_samples += timed(raw, repeat=1, warmup=0)
        # For the record: the statements alone in a tight loop, the database's caches hot.
        raw_alone = timed(raw, repeat=60, warmup=5)

    orders = ctx.sizes.get("orders", 0)
    section = f"List screens at {orders:,} orders (PostgreSQL)"
    ctx.add(section, "team leader's order list, first page, p50", round(median(screen), 1), "ms",
            f"the page's {len(statements)} statements in raw SQL (user, count, page), p50",
            round(median(raw_samples), 2))
    ctx.add(section, "the page's statements in raw SQL alone in a tight loop, p50",
            round(median(raw_alone), 2), "ms", "screen p50", round(median(screen), 1),
            note="not the limit: no other work between the runs keeps every cache hot; the limit above "
                 "alternates screen and raw SQL sample by sample")
    p95 = percentile(screen, 95)
    ctx.against(section, "team leader's order list, first page, p95", round(p95, 1), "ms",
                goal=f"< {GOAL_MS:g} ms", ok=p95 < GOAL_MS)
    ratio = median(screen) / median(raw_samples)
    ctx.add(section, "screen p50 / raw SQL p50", round(ratio, 1), "×", "target", 3.0,
            verdict="pass" if ratio <= 3 else "FAIL",
            note="the screen also checks the session, permissions and row scope and renders the page; "
                 "PERMISSION_CACHE_SECONDS=30 as in production")

    api = app.test_client()
    access = api.post("/api/v1/security/login", json={"username": "sc001_leader", "password": "GridCare#2026",
                                                       "provider": "db"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {access}"}
    # Page 500 of the leader's orders, 25 a page (a team holds ~20,000 of the million).
    first = api.get("/api/v1/workorder/?limit=25", headers=headers).get_json()
    cursor, pages = first["next_after_id"], 1
    while cursor and pages < 499:
        cursor = api.get(f"/api/v1/workorder/?limit=25&after_id={cursor}", headers=headers).get_json()["next_after_id"]
        pages += 1
    page1 = timed(lambda: api.get("/api/v1/workorder/?limit=25", headers=headers), repeat=30)
    page_n = timed(lambda: api.get(f"/api/v1/workorder/?limit=25&after_id={cursor}", headers=headers), repeat=30)
    ctx.add(section, f"API page {pages + 1} (keyset), p50", round(median(page_n), 1), "ms",
            "API page 1, p50", round(median(page1), 1),
            verdict="pass" if median(page_n) <= 1.5 * median(page1) + 2 else "FAIL")

    other_screens(ctx, client, signed_in(app, "admin"))


def other_screens(ctx: Context, leader, admin) -> None:  # noqa: ANN001
    """Every other list screen at scale and the detail page of an order with a long timeline:
    each screen's p95 (and its number of statements) against the goal."""
    app = ctx.app
    customers, bills, period = _archive_sizes(app)
    order_id = _long_timeline_order(app, "sc001_leader", TIMELINE_STEPS)
    name = _a_customer_name(app)
    screens = [
        ("team leader's customer archive, first page", leader, "/customerview/list/"),
        (f"team leader's customer archive, name contains {name}", leader,
         f"/customerview/list/?_flt_2_name={name}"),
        (f"province's customer archive ({customers:,}), first page", admin, "/customerview/list/"),
        ("province's customer archive, customer number starts with", admin,
         "/customerview/list/?_flt_0_customer_no=3500001234"),
        (f"province's customer archive, name contains {name}", admin, f"/customerview/list/?_flt_2_name={name}"),
        ("team leader's bills, first page", leader, "/billview/list/"),
        (f"team leader's bills, period {period}", leader, f"/billview/list/?_flt_3_period={period}"),
        (f"province's bills ({bills:,}), first page", admin, "/billview/list/"),
        (f"province's bills, period {period}", admin, f"/billview/list/?_flt_3_period={period}"),
        (f"team leader's order page, {TIMELINE_STEPS}-step timeline", leader, f"/workorderview/show/{order_id}"),
    ]
    section = f"Every list screen at {customers:,} customers and {bills:,} bills (PostgreSQL)"
    for label, client, url in screens:
        statements = len(_statements_of(app, lambda: client.get(url)))  # noqa: B023
        samples = timed(lambda: client.get(url), repeat=40, warmup=3)  # noqa: B023
        p95 = percentile(samples, 95)
        ctx.against(section, f"{label}, p95", round(p95, 1), "ms", goal=f"< {GOAL_MS:g} ms", ok=p95 < GOAL_MS,
                    limit_name="p50", limit_value=round(median(samples), 1), note=f"{statements} statements")


def _archive_sizes(app) -> tuple[int, int, str]:  # noqa: ANN001
    """The number of customers and bills (the planner's count: exact enough, and instant) and
    the latest billing period."""
    from sqlalchemy import func, select, text

    from app.extensions import db
    from app.models.customer import Bill

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            sizes = dict(db.session.execute(text(
                "SELECT relname, reltuples::bigint FROM pg_class WHERE relname IN ('customer', 'customer_bill')")).all())
        else:
            sizes = {"customer": 0, "customer_bill": 0}
        period = db.session.scalar(select(func.max(Bill.period))) or "202611"
    return int(sizes["customer"]), int(sizes["customer_bill"]), period


def _a_customer_name(app) -> str:  # noqa: ANN001
    """Two characters of a name as staff type them (a surname and a given name)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models.customer import Customer

    with app.app_context():
        name = db.session.scalar(select(Customer.name).where(Customer.customer_no == "35000012345")) or "王伟"
    return name[:2]


def _long_timeline_order(app, username: str, steps: int) -> int:  # noqa: ANN001
    """An open order in the user's scope with ``steps`` steps on its timeline (urges and
    contacts added in bulk where it has fewer)."""
    import datetime as dt

    from sqlalchemy import func, insert, select

    from app.extensions import db
    from app.models.workorder import WorkOrder, WorkOrderEvent
    from app.workflow.actor import actor_for_user

    with app.app_context():
        from app.extensions import appbuilder

        actor = actor_for_user(db.session, appbuilder.sm.find_user(username=username))
        order_id = db.session.scalar(select(WorkOrder.id).where(WorkOrder.state == "accepted",
                                                                actor.order_clause(WorkOrder))
                                     .order_by(WorkOrder.id.desc()).limit(1))
        have = db.session.scalar(select(func.count()).select_from(WorkOrderEvent)
                                 .where(WorkOrderEvent.order_id == order_id))
        start = db.session.scalar(select(func.max(WorkOrderEvent.created_at))
                                  .where(WorkOrderEvent.order_id == order_id))
        rows = [{"order_id": order_id, "action": "urge" if n % 3 else "contact", "from_state": "accepted",
                 "to_state": "accepted", "actor_id": None, "actor_name": "规模测试",
                 "note": f"第{n}次催办：客户再次来电询问进度", "data": None,
                 "created_at": start + dt.timedelta(minutes=10 * (n + 1))}
                for n in range(steps - have)]
        if rows:
            db.session.execute(insert(WorkOrderEvent), rows)
        db.session.commit()
    return int(order_id)


def _statements_of(app, request) -> list[tuple[str, object]]:  # noqa: ANN001
    """The SQL statements (with their parameters) one request sends to the database."""
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, object]] = []

    def _record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ARG001
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _record)
    try:
        assert request().status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", _record)
    assert seen, "the screen ran no query"
    return seen
