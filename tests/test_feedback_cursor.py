"""The feedback cursor never skips and never repeats: eight district managers resolve orders
through the REST API at once (each resolution its own transaction, some of them slow to
commit) while the platform polls ``/feedback?after=<cursor>`` in a loop over real HTTP.

Runs on the database named by GRIDCARE_TEST_DB (sqlite, postgresql, mysql)."""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select
from werkzeug.serving import make_server

from app.channels import apikeys
from app.channels.feedback import number_results
from app.models.channel import FeedbackOutbox
from app.models.workorder import WorkOrder
from app.workflow import service
from tests.conftest import api_token
from tests.factories import advance, make_customer, make_order

ORDERS = 96
THREADS = 8


def _call(url: str, *, method: str = "GET", headers: dict[str, str], body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _accepted_hotline_orders(app, client, db_session, key: str) -> list[WorkOrder]:
    numbers = [make_customer(db_session, "ST001-G01").customer_no for _ in range(ORDERS)]
    db_session.rollback()
    for n, customer_no in enumerate(numbers):
        created = client.post("/api/v1/intake/hotline_12345", headers={"X-API-Key": key}, json={
            "external_id": f"12345-2026-{n:06d}", "demand_type": "consultation",
            "customer_no": customer_no,
            "content": f"咨询第{n}号：峰谷分时电价", "phone": f"139{n:08d}",
            "address": f"示范县幸福路{n}号", "received_at": "2026-11-28T09:30:00+08:00"})
        assert created.status_code == 201, created.get_json()
    db_session.rollback()
    orders = db_session.scalars(select(WorkOrder).order_by(WorkOrder.id)).all()
    for order in orders:
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}))
    db_session.rollback()
    return list(db_session.scalars(select(WorkOrder).order_by(WorkOrder.id)))


def test_a_poller_following_the_cursor_gets_every_result_of_concurrent_resolutions_exactly_once(
        app, client, db_session, monkeypatch):
    from app.extensions import db

    with app.app_context():
        key = apikeys.create_key(db.session, "hotline_12345", "12345 platform").plain
        db.session.commit()
    orders = _accepted_hotline_orders(app, client, db_session, key)
    assert len(orders) == ORDERS and {o.state for o in orders} == {"accepted"}

    # Some transactions commit well after they wrote their result: the moment a result is
    # stamped (or its id drawn) is then far from the moment a reader can see it.
    chance = random.Random(13)

    def slow_commit(session, order, action, actor, params):  # type: ignore[no-untyped-def]
        if action == "resolve":
            time.sleep(chance.choice((0, 0, 0.02, 0.1)))

    monkeypatch.setattr(service, "_hooks", [*service._hooks, slow_commit])

    bearer = {"Authorization": f"Bearer {api_token(client, 'manager1')}"}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    base = f"http://127.0.0.1:{server.server_port}/api/v1"
    resolving_done = threading.Event()
    pages: list[list[dict]] = []
    polls = 0

    def resolve(order: WorkOrder) -> int:
        status, _ = _call(f"{base}/workorder/{order.id}/resolve", method="POST", headers=bearer,
                          body={"resolution": f"已答复客户（{order.external_id}）", "version": order.version})
        return status

    def poll_until_done() -> None:
        nonlocal polls
        cursor = 0
        while True:
            finished = resolving_done.is_set()  # read before the poll: a last one follows the end
            status, body = _call(f"{base}/intake/hotline_12345/feedback?after={cursor}&limit=7",
                                 headers={"X-API-Key": key})
            assert status == 200, body
            polls += 1
            pages.append(body["result"])
            assert body["cursor"] >= cursor
            cursor = body["cursor"]
            if finished and not body["result"]:
                return

    try:
        poller = threading.Thread(target=poll_until_done)
        poller.start()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            statuses = list(pool.map(resolve, orders))
        resolving_done.set()
        poller.join(timeout=300)
        assert not poller.is_alive()
    finally:
        server.shutdown()
        serving.join(timeout=10)

    assert statuses == [200] * ORDERS
    results = [result for page in pages for result in page]
    seen = Counter(result["external_id"] for result in results)
    assert set(seen) == {o.external_id for o in orders}, "a result was skipped"
    assert max(seen.values()) == 1, f"results repeated: {[e for e, n in seen.items() if n > 1]}"
    assert all(r["action"] == "resolve" and r["state"] == "resolved" for r in results)
    numbers = [result["seq"] for result in results]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert polls > 2  # the poller really read while the resolutions went on


def test_a_result_committed_late_is_numbered_after_one_committed_before_it(app, db_session):
    """A transaction that drew the smaller id but committed last (PostgreSQL and MariaDB
    interleave writers; SQLite never does, so the ids are given here): its result still comes
    after the one a poller has already read, so the poller still gets it."""
    first = make_order(db_session, channel="hotline_12345", external_id="LATE-1")
    second = make_order(db_session, channel="hotline_12345", external_id="EARLY-2")
    engine = db_session.bind
    # Far above any id the sequence hands out in this run: never taken by a later insert.
    late_id, early_id = 1_000_000, 1_000_010

    def result(order: WorkOrder, id: int) -> FeedbackOutbox:
        return FeedbackOutbox(id=id, order_id=order.id, channel="hotline_12345", external_id=order.external_id,
                              action="resolve", state="resolved", payload={"external_id": order.external_id})

    db_session.add(result(second, early_id))
    db_session.commit()
    assert number_results(engine) == 1  # a poller reads EARLY-2 as number 1
    db_session.add(result(first, late_id))  # the smaller id, committed afterwards
    db_session.commit()
    assert number_results(engine) == 1
    db_session.rollback()
    numbered = db_session.execute(select(FeedbackOutbox.external_id, FeedbackOutbox.seq)
                                  .order_by(FeedbackOutbox.id)).all()
    assert [tuple(row) for row in numbered] == [("LATE-1", 2), ("EARLY-2", 1)]
