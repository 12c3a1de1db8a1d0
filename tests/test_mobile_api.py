"""The mobile app's server side (issue 17): Idempotency-Key on the mutating APIs, the sync
that primes the phone (scoped to the caller's grids), demands registered in the field and
photos on work orders."""

from __future__ import annotations

import datetime as dt
import io

import time_machine
from sqlalchemy import func, select

from app import clock
from app.models.document import Document
from app.models.workorder import WorkOrder, WorkOrderEvent
from tests.factories import advance, make_customer, make_order


def _dispatched_to(db_session, username, grid_code="ST001-G01"):
    order = make_order(db_session, grid_code)
    return advance(db_session, order, ("dispatch", "leader1", {"assignee": username}))


def _events(db_session, order_id, action):
    db_session.rollback()  # a fresh snapshot: the requests committed after the test's last read
    return db_session.scalar(select(func.count()).select_from(WorkOrderEvent).where(
        WorkOrderEvent.order_id == order_id, WorkOrderEvent.action == action))


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


# --- Idempotency-Key ------------------------------------------------------------------------
def test_accept_replayed_with_the_same_key_returns_the_first_answer_and_changes_nothing(db_session, api_as):
    order = _dispatched_to(db_session, "manager1")
    manager1 = api_as("manager1")
    key = {"Idempotency-Key": "accept-7f3a9c21-0001"}
    first = manager1.client.post(f"/api/v1/workorder/{order.id}/accept", json={"version": order.version}, headers={**manager1.headers, **key})
    assert first.status_code == 200, first.get_json()
    replay = manager1.client.post(f"/api/v1/workorder/{order.id}/accept", json={"version": order.version}, headers={**manager1.headers, **key})
    assert replay.status_code == 200
    assert replay.get_json() == first.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert _events(db_session, order.id, "accept") == 1
    assert db_session.get(WorkOrder, order.id).version == first.get_json()["result"]["version"]


def test_the_same_key_without_it_would_have_been_refused_as_stale(db_session, api_as):
    """Without the key the repeat is a second accept on an old version: refused, not applied."""
    order = _dispatched_to(db_session, "manager1")
    manager1 = api_as("manager1")
    assert manager1.post(f"/api/v1/workorder/{order.id}/accept", json={"version": order.version}).status_code == 200
    again = manager1.post(f"/api/v1/workorder/{order.id}/accept", json={"version": order.version})
    assert again.status_code == 409


def test_a_field_demand_replayed_with_its_key_registers_one_order(db_session, api_as):
    manager1 = api_as("manager1")
    body = {"channel": "city_call", "demand_type": "report", "content": "小区路灯线路裸露",
            "contact_name": "王先生", "phone": "13900001111", "grid": "ST001-G02"}
    headers = {**manager1.headers, "Idempotency-Key": "demand-0b8e4f77-0001"}
    first = manager1.client.post("/api/v1/mobile/demands", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    replay = manager1.client.post("/api/v1/mobile/demands", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.get_json() == first.get_json()
    assert db_session.scalar(select(func.count()).select_from(WorkOrder).where(
        WorkOrder.channel == "city_call")) == 1


def test_an_order_photo_replayed_with_its_key_is_stored_once(db_session, api_as):
    order = _dispatched_to(db_session, "manager1")
    manager1 = api_as("manager1")
    headers = {**manager1.headers, "Idempotency-Key": "photo-5d2c0a19-0001"}
    answers = [manager1.client.post(f"/api/v1/mobile/orders/{order.id}/photos", headers=headers,
                                    data={"photos": (io.BytesIO(_png()), "meter.png")},
                                    content_type="multipart/form-data") for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].get_json() == answers[0].get_json()
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Document).where(
        Document.owner_type == "work_order", Document.owner_id == order.id)) == 1
    listed = manager1.get(f"/api/v1/mobile/orders/{order.id}/photos").get_json()["result"]
    assert [p["name"] for p in listed] == ["meter.png"]


def test_a_key_belongs_to_its_user(db_session, api_as):
    mine = _dispatched_to(db_session, "manager1", "ST001-G01")
    theirs = _dispatched_to(db_session, "manager2", "ST001-G04")
    key = "shared-key-00000001"
    manager1, manager2 = api_as("manager1"), api_as("manager2")
    assert manager1.client.post(f"/api/v1/workorder/{mine.id}/accept", json={"version": mine.version},
                         headers={**manager1.headers, "Idempotency-Key": key}).status_code == 200
    other = manager2.client.post(f"/api/v1/workorder/{theirs.id}/accept", json={"version": theirs.version},
                          headers={**manager2.headers, "Idempotency-Key": key})
    assert other.status_code == 200
    assert other.get_json()["result"]["id"] == theirs.id
    assert _events(db_session, theirs.id, "accept") == 1


def test_a_key_reused_for_another_request_is_refused(db_session, api_as):
    first, second = _dispatched_to(db_session, "manager1"), _dispatched_to(db_session, "manager1")
    manager1 = api_as("manager1")
    headers = {**manager1.headers, "Idempotency-Key": "reused-key-0000001"}
    assert manager1.client.post(f"/api/v1/workorder/{first.id}/accept", json={"version": first.version},
                         headers=headers).status_code == 200
    refused = manager1.client.post(f"/api/v1/workorder/{second.id}/accept", json={"version": second.version},
                            headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["field"] == "Idempotency-Key"
    assert _events(db_session, second.id, "accept") == 0


def test_a_malformed_key_is_refused_naming_the_header(db_session, api_as):
    order = _dispatched_to(db_session, "manager1")
    manager1 = api_as("manager1")
    refused = manager1.client.post(f"/api/v1/workorder/{order.id}/accept", json={"version": order.version},
                            headers={**manager1.headers, "Idempotency-Key": "no spaces allowed"})
    assert refused.status_code == 400
    assert refused.get_json()["field"] == "Idempotency-Key"
    assert _events(db_session, order.id, "accept") == 0


# --- sync -----------------------------------------------------------------------------------
def test_manager1_never_receives_orders_or_customers_of_manager2_grids(db_session, api_as):
    with time_machine.travel(clock.now() - dt.timedelta(minutes=1), tick=True):  # well before the first sync
        mine = [_dispatched_to(db_session, "manager1", code) for code in ("ST001-G01", "ST001-G03")]
        theirs = [_dispatched_to(db_session, "manager2", code) for code in ("ST001-G04", "ST001-G06")]
        my_customer = make_customer(db_session, "ST001-G02")
        their_customer = make_customer(db_session, "ST001-G05")
    manager1 = api_as("manager1")

    full = manager1.get("/api/v1/mobile/sync")
    assert full.status_code == 200, full.get_json()
    payload = full.get_json()["result"]
    assert {o["id"] for o in payload["orders"]} == {o.id for o in mine}
    assert {c["customer_no"] for c in payload["customers"]} == {my_customer.customer_no}
    assert payload["open_order_ids"] == sorted(o.id for o in mine)
    assert {o["grid"] for o in payload["orders"]} <= {"ST001-G01", "ST001-G02", "ST001-G03"}

    # a minute later, changes in manager2's grids stay out of the delta too
    with time_machine.travel(clock.now() + dt.timedelta(minutes=1), tick=True):
        advance(db_session, theirs[0], ("accept", "manager2", {}))
        their_customer.address = "示范县新地址9号"
        db_session.commit()
        advance(db_session, mine[0], ("accept", "manager1", {}))
        delta = manager1.get("/api/v1/mobile/sync", query_string={"cursor": payload["cursor"]}).get_json()["result"]
    assert [o["id"] for o in delta["orders"]] == [mine[0].id]
    assert delta["customers"] == []


def test_sync_refuses_a_cursor_that_is_not_a_time(api_as):
    answer = api_as("manager1").get("/api/v1/mobile/sync", query_string={"cursor": "yesterday"})
    assert answer.status_code == 400
    assert answer.get_json()["field"] == "cursor"


# --- field demands at places ------------------------------------------------------------------
def _supermarket(db_session, grid_code, name):
    from decimal import Decimal

    from app.models.channel import LoveSupermarket
    from tests.factories import grid

    g = grid(db_session, grid_code)
    market = LoveSupermarket(name=name, station_id=g.station_id, grid_id=g.id, address=f"{name}门口",
                             latitude=Decimal("30.1"), longitude=Decimal("120.2"))
    db_session.add(market)
    db_session.commit()
    return market


def test_a_demand_at_a_love_supermarket_of_my_grid_is_registered_and_one_of_another_grid_refused(
        db_session, api_as):
    mine = _supermarket(db_session, "ST001-G01", "东村爱心超市")
    theirs = _supermarket(db_session, "ST001-G05", "西村爱心超市")
    manager1 = api_as("manager1")
    places = manager1.get("/api/v1/mobile/places").get_json()["result"]
    assert [(p["kind"], p["name"]) for p in places] == [("love_supermarket", "东村爱心超市")]
    body = {"channel": "love_supermarket", "demand_type": "consultation", "content": "咨询低保户电费减免"}
    registered = manager1.post("/api/v1/mobile/demands", json={**body, "place_id": mine.id})
    assert registered.status_code == 201, registered.get_json()
    assert registered.get_json()["result"]["channel"] == "love_supermarket"
    refused = manager1.post("/api/v1/mobile/demands", json={**body, "place_id": theirs.id})
    assert refused.status_code == 403
    missing = manager1.post("/api/v1/mobile/demands", json=body)
    assert (missing.status_code, missing.get_json()["field"]) == (400, "place_id")
    beyond = manager1.post("/api/v1/mobile/demands", json={**body, "place_id": 2432902008176640000})
    assert (beyond.status_code, beyond.get_json()["field"]) == (400, "place_id")  # not a 500 on PostgreSQL
    far = manager1.post("/api/v1/mobile/demands", json={**body, "place_id": mine.id, "latitude": 30.1,
                                                        "longitude": 120.2, "accuracy_m": 1e30})
    assert (far.status_code, far.get_json()["field"]) == (400, "accuracy_m")


def test_a_field_demand_keeps_the_phone_position_and_refuses_one_off_the_globe(db_session, api_as):
    from app.models.mobile import FieldPosition

    manager1 = api_as("manager1")
    body = {"channel": "city_call", "demand_type": "report", "content": "电杆倾斜", "grid": "ST001-G01"}
    off = manager1.post("/api/v1/mobile/demands", json={**body, "latitude": 95.0, "longitude": 120.1})
    assert (off.status_code, off.get_json()["field"]) == (400, "latitude")
    made = manager1.post("/api/v1/mobile/demands", json={**body, "latitude": 30.27, "longitude": 120.15,
                                                          "accuracy_m": 8})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["result"]["position"] == {"latitude": 30.27, "longitude": 120.15, "accuracy_m": 8}
    where = db_session.get(FieldPosition, made.get_json()["result"]["id"])
    assert (float(where.latitude), float(where.longitude)) == (30.27, 120.15)
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_the_field_work_menu_links_to_the_mobile_app(login_as):
    page = login_as("manager1").get("/workorderview/list/").get_data(as_text=True)
    assert 'href="/m/"' in page and "移动端" in page


def test_concurrent_repeats_of_one_key_apply_the_action_once(db_session, api_as, app):
    """A phone retrying over a weak link: four copies of one accept at the same moment."""
    import json
    import threading
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from werkzeug.serving import make_server

    order = _dispatched_to(db_session, "manager1")
    headers = {**api_as("manager1").headers, "Idempotency-Key": "burst-3e9d1c55-0001",
               "Content-Type": "application/json"}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/workorder/{order.id}/accept"
    start = threading.Barrier(4)

    def retry(_: int) -> tuple[int, dict]:
        request = urllib.request.Request(url, data=json.dumps({"version": order.version}).encode(),
                                         method="POST", headers=headers)
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(retry, range(4)))
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert _events(db_session, order.id, "accept") == 1
    applied = [body for status, body in answers if status == 200]
    assert applied and all(body == applied[0] for body in applied)
    waiting = [body["message"] for status, body in answers if status != 200]
    assert all("still being answered" in message for message in waiting)


def test_marking_a_notification_read_twice_with_one_key_answers_the_same(db_session, api_as):
    order = _dispatched_to(db_session, "manager1")  # the dispatch notifies manager1
    manager1 = api_as("manager1")
    notice = manager1.get("/api/v1/notification/").get_json()["result"][0]
    assert notice["order_id"] == order.id
    headers = {**manager1.headers, "Idempotency-Key": "read-9a0b7c6d-0001"}
    first = manager1.client.post(f"/api/v1/notification/{notice['id']}/read", headers=headers)
    again = manager1.client.post(f"/api/v1/notification/{notice['id']}/read", headers=headers)
    assert first.status_code == 200 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
