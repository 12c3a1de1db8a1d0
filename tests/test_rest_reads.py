"""The REST reads of work orders (issue 18): a page of the list and one order in detail read
what they answer in a fixed number of statements, whatever the page size or the length of the
timeline; the bearer token's checks and the caller's user take one statement; and the detail
read answers exactly what the order itself says (the answer of an action, built from the
order object)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.factories import advance, make_order


def _statements(app: Any, request: Any) -> tuple[Any, list[str]]:
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def _count(conn, cursor, statement, *args):  # noqa: ANN001
        # The statutory calendar is reloaded when its per-year cache expires: a clock, not
        # the request, decides when.
        if "calendar_year" not in statement and "calendar_day" not in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        response = request()
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, seen


def _urged(db_session: Any, order: Any, times: int) -> Any:
    return advance(db_session, order, *[("urge", "leader1", {"note": f"第{n}次催办"}) for n in range(times)])


def test_an_order_with_a_long_timeline_is_read_in_the_statements_of_a_short_one(app, db_session, api_as):
    short = make_order(db_session, "ST001-G01")
    long = _urged(db_session, make_order(db_session, "ST001-G01"), 25)
    manager = api_as("manager1")
    manager.get(f"/api/v1/workorder/{short.id}")  # the caller's permissions and scope, once
    answer, few = _statements(app, lambda: manager.get(f"/api/v1/workorder/{short.id}"))
    long_answer, many = _statements(app, lambda: manager.get(f"/api/v1/workorder/{long.id}"))
    assert len(long_answer.get_json()["result"]["timeline"]) == len(answer.get_json()["result"]["timeline"]) + 25
    assert len(many) == len(few)


def test_a_page_of_twenty_orders_is_read_in_the_statements_of_a_page_of_two(app, db_session, api_as):
    for n in range(22):
        order = make_order(db_session, f"ST001-G0{1 + n % 3}")
        if n % 2:
            advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}))
    manager = api_as("manager1")
    manager.get("/api/v1/workorder/?limit=2")
    two, few = _statements(app, lambda: manager.get("/api/v1/workorder/?limit=2"))
    twenty, many = _statements(app, lambda: manager.get("/api/v1/workorder/?limit=20"))
    assert len(two.get_json()["result"]) == 2 and len(twenty.get_json()["result"]) == 20
    assert {o["assignee"] for o in twenty.get_json()["result"]} == {None, "李台区"}
    assert len(many) == len(few)


def test_the_token_checks_and_the_caller_take_one_statement(app, db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    manager = api_as("manager1")
    manager.get(f"/api/v1/workorder/{order.id}")
    _, seen = _statements(app, lambda: manager.get(f"/api/v1/workorder/{order.id}"))
    assert len([s for s in seen if "FROM ab_user" in s]) == 1
    assert len([s for s in seen if "security_revoked_token" in s]) == 1


def test_with_the_permission_cache_a_repeated_read_asks_nothing_of_the_roles(app, db_session, api_as):
    from app.security import manager as security

    order = make_order(db_session, "ST001-G01")
    manager = api_as("manager1")
    before = app.config.get("PERMISSION_CACHE_SECONDS")
    try:
        app.config["PERMISSION_CACHE_SECONDS"] = 0
        _, uncached = _statements(app, lambda: manager.get(f"/api/v1/workorder/{order.id}"))
        assert any("ab_role" in s for s in uncached)  # the Public role, at every request
        app.config["PERMISSION_CACHE_SECONDS"] = 30
        security._PER_USER.clear()
        manager.get(f"/api/v1/workorder/{order.id}")
        _, cached = _statements(app, lambda: manager.get(f"/api/v1/workorder/{order.id}"))
        assert not [s for s in cached if "ab_role" in s or "ab_permission" in s]
    finally:
        app.config["PERMISSION_CACHE_SECONDS"] = before
        security._PER_USER.clear()


def _as_the_order_says(app: Any, headers: dict[str, str], order_id: int) -> dict[str, Any]:
    """The detail answer built the way an action's answer is: from the order object, for the
    caller of ``headers``."""
    from flask_jwt_extended import verify_jwt_in_request

    from app.api.workorder import order_body
    from app.extensions import appbuilder, db
    from app.workflow import service

    with app.test_request_context(headers=headers):
        verify_jwt_in_request()
        actor = appbuilder.sm.current_actor()
        answer = order_body(service.load_order(db.session, actor, order_id), actor)
        db.session.rollback()
        return answer


@pytest.mark.parametrize("username", ["manager1", "leader1", "admin"])
def test_the_detail_read_answers_what_the_order_itself_says(app, db_session, api_as, username):
    registered = make_order(db_session, "ST001-G01", phone="13812345678", contact_name="李女士")
    accepted = advance(db_session, make_order(db_session, "ST001-G02", phone="13912345678"),
                       ("dispatch", "leader1", {"assignee": "manager1"}), ("accept", "manager1", {}),
                       ("extend", "manager1", {"reason": "等待停电计划", "days": 2}))
    resolved = advance(db_session, make_order(db_session, "ST001-G03"),
                       ("dispatch", "leader1", {"assignee": "manager1"}), ("accept", "manager1", {}),
                       ("suspend", "leader1", {"reason": "客户要求改期"}), ("resume", "leader1", {}),
                       ("resolve", "manager1", {"resolution": "已更换表箱"}))
    caller = api_as(username)
    for order in (registered, accepted, resolved):
        read = caller.get(f"/api/v1/workorder/{order.id}")
        assert read.status_code == 200, read.get_json()
        assert read.get_json() == _as_the_order_says(app, caller.headers, order.id)
    masked = caller.get(f"/api/v1/workorder/{registered.id}").get_json()["result"]["phone"]
    assert masked == ("138****5678" if username == "manager1" else "13812345678")


def test_an_order_outside_the_callers_grids_is_refused_and_a_missing_one_not_found(db_session, api_as):
    theirs = make_order(db_session, "ST001-G04")
    manager = api_as("manager1")
    refused = manager.get(f"/api/v1/workorder/{theirs.id}")
    assert refused.status_code == 403 and "number" not in refused.get_data(as_text=True)
    assert manager.get(f"/api/v1/workorder/{theirs.id + 1000}").status_code == 404


def _all_pages(client: Any, query: str, size: int) -> list[int]:
    ids: list[int] = []
    cursor = None
    while True:
        body = client.get(f"/api/v1/workorder/?limit={size}{query}" + (f"&after_id={cursor}" if cursor else "")).get_json()
        ids += [o["id"] for o in body["result"]]
        cursor = body["next_after_id"]
        if cursor is None:
            return ids


@pytest.mark.parametrize("username", ["manager1", "leader1", "director1", "admin", "st2_manager1"])
def test_keyset_pages_read_scope_value_by_value_and_give_every_order_of_the_scope_once_newest_first(
        app, db_session, api_as, username):
    # manager1's orders come from two sides: the grids it keeps (G01–G03) and the orders
    # assigned to it in a grid it no longer keeps (G04, as after its grids were handed over);
    # some of its own grids' orders are dispatched to it too (on both sides: once on the
    # page), others to manager2 (in its grids only).
    from sqlalchemy import select

    from app.models.workorder import WorkOrder
    from tests.factories import actor, staff

    for n, grid_code in enumerate(["ST001-G01", "ST001-G02", "ST001-G04", "ST001-G05", "ST002-G01"] * 3):
        order = make_order(db_session, grid_code, by="operator1" if grid_code.startswith("ST001") else "operator2")
        if grid_code == "ST001-G04" and n % 3 != 2:
            order.assignee_id = staff(db_session, "manager1").id
            db_session.commit()
        elif n % 3 == 1:
            advance(db_session, order, ("dispatch", "leader1" if grid_code.startswith("ST001") else "leader2",
                                        {"assignee": "manager1" if grid_code < "ST001-G04" else "manager2"
                                         if grid_code.startswith("ST001") else "st2_manager1"}))
        elif n % 3 == 2 and grid_code.startswith("ST001"):
            advance(db_session, order, ("dispatch", "leader1",
                                        {"assignee": "manager2" if grid_code >= "ST001-G04" else "manager1"}))
    who = actor(db_session, username)
    in_scope = list(db_session.scalars(select(WorkOrder.id).where(who.order_clause(WorkOrder))
                                       .order_by(WorkOrder.id.desc())))
    dispatched = list(db_session.scalars(select(WorkOrder.id).where(who.order_clause(WorkOrder),
                                                                    WorkOrder.state == "dispatched")
                                         .order_by(WorkOrder.id.desc())))
    assert in_scope and dispatched
    client = api_as(username)
    for size in (1, 2, 4, 50):
        assert _all_pages(client, "", size) == in_scope
        assert _all_pages(client, "&state=dispatched", size) == dispatched
    if username == "manager1":  # both sides, and orders on both sides
        grids = {o.grid.code for o in db_session.scalars(select(WorkOrder).where(WorkOrder.id.in_(in_scope)))}
        assert grids == {"ST001-G01", "ST001-G02", "ST001-G04"}
        assert {o.assignee.name for o in db_session.scalars(select(WorkOrder).where(
            WorkOrder.id.in_(in_scope), WorkOrder.assignee_id.is_not(None)))} == {"李台区"}
