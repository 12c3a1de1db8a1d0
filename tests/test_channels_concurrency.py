"""Exactly one order per (channel, external_id) when platforms retry at the same time:
a real HTTP server on loopback, eight client threads, half of the posts repeats."""

from __future__ import annotations

import json
import random
import threading
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.channels import apikeys
from app.models.workorder import WorkOrder

UNIQUE = 200
POSTS = 400
THREADS = 8


def _post(url: str, key: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-API-Key": key})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def test_eight_threads_posting_400_demands_half_repeated_create_exactly_the_unique_ones(app, db_session):
    from app.extensions import db

    with app.app_context():
        key = apikeys.create_key(db.session, "hotline_12345", "load").plain
        db.session.commit()
    demands = [
        {"external_id": f"12345-2026-{n:06d}", "demand_type": "consultation",
         "content": f"咨询第{n}号：峰谷分时电价怎么计算", "contact_name": f"客户{n}",
         "phone": f"139{n:08d}", "address": f"示范县幸福路{n}号",
         "received_at": "2026-11-28T09:30:00+08:00"}
        for n in range(UNIQUE)
    ]
    posts = demands + demands  # every demand twice: 50 % of the posts are repeats
    random.Random(8).shuffle(posts)
    assert len(posts) == POSTS

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/intake/hotline_12345"
    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            answers = list(pool.map(lambda body: (body["external_id"], *_post(url, key, body)), posts))
    finally:
        server.shutdown()
        thread.join(timeout=10)

    statuses = Counter(status for _, status, _ in answers)
    assert statuses == {201: UNIQUE, 200: POSTS - UNIQUE}, statuses
    ids = defaultdict(set)
    for external_id, _, body in answers:
        ids[external_id].add(body["id"])
    assert len(ids) == UNIQUE and all(len(found) == 1 for found in ids.values())

    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == UNIQUE
    stored = set(db_session.scalars(select(WorkOrder.external_id)))
    assert stored == set(ids)


def test_neighbours_reporting_an_outage_at_the_same_moment_get_one_parent(app, db_session):
    from app.extensions import db
    from tests.factories import make_customer

    customers = [make_customer(db_session, "ST001-G03") for _ in range(5)]
    with app.app_context():
        key = apikeys.create_key(db.session, "grassroots_grid", "grid members").plain
        db.session.commit()
    bodies = [{"external_id": f"JC-{i}", "demand_type": "urgent", "content": f"整片停电了（{i}号）",
               "phone": c.phone, "customer_no": c.customer_no,
               "received_at": "2026-11-28T20:00:00+08:00"} for i, c in enumerate(customers)]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/intake/grassroots_grid"
    try:
        with ThreadPoolExecutor(max_workers=5) as pool:
            answers = list(pool.map(lambda body: _post(url, key, body), bodies))
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert [status for status, _ in answers] == [201] * 5
    db_session.rollback()
    children = db_session.scalars(select(WorkOrder).where(WorkOrder.external_id.is_not(None))).all()
    assert len({c.parent_id for c in children}) == 1 and children[0].parent_id is not None
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == 6


@pytest.mark.databases("postgresql")
def test_a_registration_still_open_does_not_hold_up_the_next_one(app):
    """No hot row: a registration whose transaction is still open (routing, hooks, a slow
    commit) leaves the next registration free to take its number and commit."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from app.workflow import service
    from tests.factories import actor, grid

    def register(session: Session, grid_code: str, content: str):  # noqa: ANN202
        return service.register_order(session, actor(session, "operator1"), channel="convenience_point",
                                      demand_type="service", content=content,
                                      grid_id=grid(session, grid_code).id)

    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    first, second = Session(engine), Session(engine)
    try:
        open_order = register(first, "ST001-G01", "线路老化，请检查")
        first.flush()  # its transaction stays open
        second.execute(text("SET lock_timeout = '3s'"))
        order = register(second, "ST001-G02", "电表不走字")
        second.commit()
        assert order.number != open_order.number
        assert order.number.startswith("GD") and open_order.number.startswith("GD")
    finally:
        first.rollback()
        first.close()
        second.close()
        engine.dispose()


@pytest.mark.databases("postgresql", "mysql")
def test_a_repeat_committed_while_a_registration_is_open_is_found_and_linked(app):
    """MariaDB reads from the transaction's first snapshot (REPEATABLE READ): an earlier order
    that another registration committed after that snapshot is seen by the repeat query's
    locking read, and must be loaded the same way — a plain read would not find it, and the
    registration failed with an error instead of being flagged as a repeat."""
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from app.models.channel import DuplicateReview
    from app.workflow import service
    from tests.factories import actor, grid

    def register(session: Session):  # noqa: ANN202
        return service.register_order(session, actor(session, "operator1"), channel="hotline_12345",
                                      demand_type="report", content="幸福路3号门口电线杆倾斜，有危险",
                                      phone="13912340000", grid_id=grid(session, "ST001-G01").id)

    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    late, early = Session(engine), Session(engine)
    try:
        late.scalar(select(func.count()).select_from(WorkOrder))  # its snapshot is taken here
        earlier = register(early)
        early.commit()
        repeat = register(late)
        late.commit()
        assert repeat.duplicate_of_id == earlier.id
        review = late.scalar(select(DuplicateReview).where(DuplicateReview.order_id == repeat.id))
        assert review is not None and review.duplicate_of_id == earlier.id
    finally:
        late.rollback()
        early.rollback()
        late.close()
        early.close()
        engine.dispose()
