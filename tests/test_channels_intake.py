"""The intake API of external platforms: keys, exactly-once registration, validation, feedback."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from app import clock
from app.channels import apikeys
from app.models.channel import ChannelApiKeyUse, FeedbackOutbox
from app.models.workorder import WorkOrder
from tests.factories import advance, make_customer

pytestmark = pytest.mark.date_sensitive


def new_key(app, channel: str) -> str:
    from app.extensions import db

    with app.app_context():
        key = apikeys.create_key(db.session, channel, f"{channel} client").plain
        db.session.commit()
    return key


# An hour before the run's "now" (whatever moment the clock is set to): a platform never
# reports a demand received in the future.
RECEIVED_AT = (clock.local_now() - dt.timedelta(hours=1)).replace(microsecond=0).isoformat()


def demand(external_id: str = "12345-2026-000123", **values):
    body = {
        "external_id": external_id, "demand_type": "complaint",
        "content": "小区路灯旁电线老化，担心漏电", "contact_name": "王先生",
        "phone": "13800001111", "address": "示范县城东路8号",
        "customer_no": "3300123456", "received_at": RECEIVED_AT,
    }
    body.update(values)
    return body


def post(client, channel, key, body, **kw):
    headers = {"X-API-Key": key} if key else {}
    if isinstance(body, (dict, list)):
        return client.post(f"/api/v1/intake/{channel}", json=body, headers=headers, **kw)
    return client.post(f"/api/v1/intake/{channel}", data=body, headers=headers,
                       content_type="application/json", **kw)


def count_orders(db_session) -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(WorkOrder))


def test_hotline_demand_registers_once_and_a_retry_returns_the_same_order(app, client, db_session):
    key = new_key(app, "hotline_12345")
    first = post(client, "hotline_12345", key, demand())
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert set(body) >= {"id", "number", "state", "deadline"}
    again = post(client, "hotline_12345", key, demand())
    assert again.status_code == 200
    assert again.get_json()["id"] == body["id"] and again.get_json()["number"] == body["number"]
    assert count_orders(db_session) == 1
    order = db_session.get(WorkOrder, body["id"])
    assert order.channel == "hotline_12345" and order.external_id == "12345-2026-000123"
    # an unknown customer number is kept, to be matched when the archive has it
    assert order.customer_no == "3300123456" and order.customer_id is None


def test_same_external_id_with_a_different_payload_is_a_conflict(app, client, db_session):
    key = new_key(app, "hotline_12345")
    assert post(client, "hotline_12345", key, demand()).status_code == 201
    changed = post(client, "hotline_12345", key, demand(content="另一件事：电费咨询"))
    assert changed.status_code == 409
    assert "external_id" in changed.get_json()["message"]
    assert count_orders(db_session) == 1


def test_same_external_id_on_another_channel_is_another_demand(app, client, db_session):
    hotline, oa = new_key(app, "hotline_12345"), new_key(app, "oa_demand")
    assert post(client, "hotline_12345", hotline, demand("X-1")).status_code == 201
    assert post(client, "oa_demand", oa, demand("X-1")).status_code == 201
    assert count_orders(db_session) == 2


def test_known_customer_number_links_the_order_to_the_customer_and_grid(app, client, db_session):
    customer = make_customer(db_session, "ST001-G02")
    key = new_key(app, "three_services")
    response = post(client, "three_services", key, demand("E-1", customer_no=customer.customer_no))
    assert response.status_code == 201
    db_session.rollback()
    order = db_session.get(WorkOrder, response.get_json()["id"])
    assert order.customer_id == customer.id and order.grid.code == "ST001-G02"


def test_key_of_hotline_cannot_post_to_oa_demand(app, client, db_session):
    key = new_key(app, "hotline_12345")
    response = post(client, "oa_demand", key, demand())
    assert response.status_code == 401
    assert "message" in response.get_json()
    assert count_orders(db_session) == 0


def test_missing_or_unknown_key_gets_401(app, client, db_session):
    assert post(client, "hotline_12345", None, demand()).status_code == 401
    assert post(client, "hotline_12345", "gck_abcdef123456_forged", demand()).status_code == 401
    assert count_orders(db_session) == 0


def test_revoked_key_gets_401(app, client, db_session):
    from app.extensions import db

    key = new_key(app, "hotline_12345")
    assert post(client, "hotline_12345", key, demand("R-1")).status_code == 201
    with app.app_context():
        stored = apikeys.find_key(db.session, key)
        apikeys.revoke_key(db.session, stored.id)
        db.session.commit()
    assert post(client, "hotline_12345", key, demand("R-2")).status_code == 401
    assert count_orders(db_session) == 1


def test_key_revoked_in_another_process_stops_working_within_the_cache_seconds(app, client, db_session):
    import time_machine
    from sqlalchemy import update

    from app.models.channel import ChannelApiKey

    key = new_key(app, "hotline_12345")
    assert post(client, "hotline_12345", key, demand("C-1")).status_code == 201  # now cached here
    # Revoked by another gunicorn worker: this process is not told, its copy is a few seconds old.
    db_session.execute(update(ChannelApiKey).values(revoked_at=clock.now()))
    db_session.commit()
    assert post(client, "hotline_12345", key, demand("C-2")).status_code == 201
    later = clock.now() + dt.timedelta(seconds=app.config["API_KEY_CACHE_SECONDS"] + 1)
    with time_machine.travel(later, tick=True):
        assert post(client, "hotline_12345", key, demand("C-3")).status_code == 401
    assert count_orders(db_session) == 2


def test_every_use_of_a_key_is_logged(app, client, db_session):
    key = new_key(app, "hotline_12345")
    post(client, "hotline_12345", key, demand("L-1"))
    post(client, "hotline_12345", key, demand("L-1"))
    post(client, "oa_demand", key, demand("L-2"))
    client.get("/api/v1/intake/hotline_12345/feedback", headers={"X-API-Key": key})
    db_session.rollback()
    uses = db_session.scalars(select(ChannelApiKeyUse).order_by(ChannelApiKeyUse.id)).all()
    assert [(u.method, u.status) for u in uses] == [("POST", 201), ("POST", 200), ("POST", 401), ("GET", 200)]
    assert uses[0].external_id == "L-1"


@pytest.mark.parametrize("body, field", [
    (b'{"external_id": "B-1", "content": ', "body"),
    (demand("B-2", content=None), "content"),
    ({k: v for k, v in demand("B-3").items() if k != "external_id"}, "external_id"),
    (demand("B-4", content="停电" * (2 * 1024 * 1024 // 6)), "content"),  # 2 MB of UTF-8
    (demand("B-5", phone="12345"), "phone"),
    (demand("B-6", received_at="28/11/2026 9:30"), "received_at"),
    (demand("B-7", received_at="2026-13-45T99:00:00"), "received_at"),
    (demand("B-8", demand_type="rumour"), "demand_type"),
    ([demand("B-9")], "body"),
])
def test_bad_input_gets_a_4xx_naming_the_field_and_writes_nothing(app, client, db_session, body, field):
    key = new_key(app, "hotline_12345")
    response = post(client, "hotline_12345", key, body)
    assert 400 <= response.status_code < 500
    message = response.get_json()
    assert message["field"] == field and field in message["message"] or (
        field == "body" and message["field"] == "body")
    assert count_orders(db_session) == 0


def test_body_larger_than_the_limit_is_refused_with_413(app, client, db_session):
    key = new_key(app, "hotline_12345")
    response = post(client, "hotline_12345", key, json.dumps(demand(content="x" * (17 * 1024 * 1024))))
    assert response.status_code == 413
    assert response.get_json()["field"] == "body"
    assert count_orders(db_session) == 0


def _resolve(db_session, order_id):
    order = db_session.get(WorkOrder, order_id)
    return advance(db_session, order,
                   ("dispatch", "leader1", {"assignee": "manager1"}),
                   ("accept", "manager1", {}),
                   ("resolve", "manager1", {"resolution": "已更换老化导线"}))


def test_resolved_hotline_order_appears_on_hotline_feedback_only(app, client, db_session):
    customer = make_customer(db_session, "ST001-G01")
    hotline, oa = new_key(app, "hotline_12345"), new_key(app, "oa_demand")
    before = dt.datetime.now(dt.timezone.utc).isoformat()
    created = post(client, "hotline_12345", hotline, demand("F-1", customer_no=customer.customer_no))
    post(client, "oa_demand", oa, demand("OA-1", phone="13900002222", content="咨询峰谷电价"))
    db_session.rollback()
    _resolve(db_session, created.get_json()["id"])

    feed = client.get("/api/v1/intake/hotline_12345/feedback", query_string={"since": before},
                      headers={"X-API-Key": hotline})
    assert feed.status_code == 200
    results = feed.get_json()["result"]
    assert [r["external_id"] for r in results] == ["F-1"]
    assert results[0]["state"] == "resolved" and results[0]["resolution"] == "已更换老化导线"
    assert results[0]["resolved_at"]

    oa_feed = client.get("/api/v1/intake/oa_demand/feedback", query_string={"since": before},
                         headers={"X-API-Key": oa})
    assert oa_feed.status_code == 200 and oa_feed.get_json()["result"] == []
    # the OA key cannot read the hotline's feedback either
    assert client.get("/api/v1/intake/hotline_12345/feedback",
                      headers={"X-API-Key": oa}).status_code == 401
    # nothing new after the returned cursor
    until = feed.get_json()["until"]
    later = client.get("/api/v1/intake/hotline_12345/feedback", query_string={"since": until},
                       headers={"X-API-Key": hotline})
    assert later.get_json()["result"] == []


def test_evaluation_is_fed_back_and_kept_in_the_outbox(app, client, db_session):
    customer = make_customer(db_session, "ST001-G01")
    key = new_key(app, "grassroots_grid")
    created = post(client, "grassroots_grid", key, demand("G-1", customer_no=customer.customer_no))
    db_session.rollback()
    order = _resolve(db_session, created.get_json()["id"])
    advance(db_session, order, ("verify", "leader1", {}),
            ("evaluate", "leader1", {"score": 92, "comment": "处理及时"}))
    feed = client.get("/api/v1/intake/grassroots_grid/feedback", headers={"X-API-Key": key})
    result = feed.get_json()["result"][0]
    assert result["state"] == "evaluated" and result["evaluation"]["score"] == 92
    db_session.rollback()
    actions = db_session.scalars(select(FeedbackOutbox.action).order_by(FeedbackOutbox.id)).all()
    assert actions == ["resolve", "verify", "evaluate"]


def test_bad_since_is_a_400(app, client):
    key = new_key(app, "hotline_12345")
    response = client.get("/api/v1/intake/hotline_12345/feedback", query_string={"since": "yesterday"},
                          headers={"X-API-Key": key})
    assert response.status_code == 400 and response.get_json()["field"] == "since"


def test_intake_is_in_the_openapi_document(client, api_as):
    spec = api_as("admin").get("/api/v1/_openapi").get_json()
    assert "/intake/{channel}" in spec["paths"] or "/api/v1/intake/{channel}" in spec["paths"]


def test_channels_without_intake_answer_404(app, client):
    key = new_key(app, "convenience_point")
    response = post(client, "convenience_point", key, demand("P-1"))
    assert response.status_code == 404 and "message" in response.get_json()


def test_repeat_with_keys_in_another_order_is_the_same_payload(app, client, db_session):
    key = new_key(app, "oa_demand")
    body = demand("OA-9")
    assert post(client, "oa_demand", key, body).status_code == 201
    reordered = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=False).encode()
    assert post(client, "oa_demand", key, reordered).status_code == 200
    assert count_orders(db_session) == 1


def test_order_with_an_unknown_customer_is_matched_when_the_archive_has_it(app, client, db_session):
    from app.channels.intake import link_orders_to_customers

    key = new_key(app, "hotline_12345")
    created = post(client, "hotline_12345", key, demand("M-1", customer_no="3399000001"))
    assert created.status_code == 201
    customer = make_customer(db_session, "ST001-G03", customer_no="3399000001")
    assert link_orders_to_customers(db_session) == 1
    db_session.commit()
    order = db_session.get(WorkOrder, created.get_json()["id"])
    assert order.customer_id == customer.id and order.grid.code == "ST001-G03"
    assert link_orders_to_customers(db_session) == 0


def test_demand_of_an_unknown_customer_lands_at_the_keys_station(app, client, db_session, api_as):
    from app.extensions import db

    with app.app_context():
        key = apikeys.create_key(db.session, "hotline_12345", "12345 城东", station_code="ST001").plain
        db.session.commit()
    created = post(client, "hotline_12345", key, demand("S-1", customer_no=None))
    assert created.status_code == 201
    db_session.rollback()
    assert db_session.get(WorkOrder, created.get_json()["id"]).station.code == "ST001"
    listed = api_as("director1").get("/api/v1/workorder/", query_string={"channel": "hotline_12345"})
    assert [o["id"] for o in listed.get_json()["result"]] == [created.get_json()["id"]]
    assert api_as("director2").get("/api/v1/workorder/").get_json()["result"] == []
