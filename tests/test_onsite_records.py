"""On-site service, safety supervision and equipment records; energy-service requests as
on-site work orders; documents attached to records; the APIs in the OpenAPI document."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.models.customer import Customer
from app.models.onsite import SafetyRecord, ServiceRecord
from app.models.workorder import WorkOrder
from tests.conftest import csrf_from
from tests.energy_helpers import image_bytes
from tests.factories import grid, make_customer, make_order


def test_safety_record_is_registered_with_photo_and_closed(db_session, api_as):
    g03 = grid(db_session, "ST001-G03")
    manager1 = api_as("manager1")
    created = manager1.post("/api/v1/onsite/safety-records", content_type="multipart/form-data", data={
        "grid_id": str(g03.id), "site": "幸福小区3号配电房", "hazards": "门锁损坏，电缆沟积水",
        "rectification_required": "更换门锁，排水", "deadline": "2026-12-05",
        "photos": [(io.BytesIO(image_bytes("WEBP")), "room.webp")]})
    assert created.status_code == 201, created.get_json()
    record = created.get_json()["result"]
    assert record["deadline"] == "2026-12-05" and record["closed"] is False
    assert manager1.post("/api/v1/onsite/safety-records", json={"grid_id": g03.id, "site": "x"}).status_code == 400

    closed = manager1.post(f"/api/v1/onsite/safety-records/{record['id']}/close", json={"note": "已整改"})
    assert closed.status_code == 200 and closed.get_json()["result"]["closed"] is True
    assert manager1.post(f"/api/v1/onsite/safety-records/{record['id']}/close", json={}).status_code == 400
    assert api_as("manager2").post(f"/api/v1/onsite/safety-records/{record['id']}/close",
                                   json={}).status_code == 403
    assert [r["id"] for r in api_as("manager2").get("/api/v1/onsite/safety-records").get_json()["result"]] == []
    db_session.rollback()
    assert db_session.get(SafetyRecord, record["id"]).closed_by_name == "李台区"


def test_equipment_linked_to_transformer_and_service_record_for_an_order(db_session, api_as):
    g01 = grid(db_session, "ST001-G01")
    transformer = g01.transformers[0]
    manager1 = api_as("manager1")
    equipment = manager1.post("/api/v1/onsite/equipment", json={
        "equipment_type": "断路器", "model": "DZ47-63", "serial_no": "SN-778", "location": "BX-0101表箱",
        "transformer_id": transformer.id, "meter_box_no": "BX-0101"})
    assert equipment.status_code == 201, equipment.get_json()
    assert equipment.get_json()["result"]["transformer"] == transformer.code
    other = grid(db_session, "ST001-G04").transformers[0]
    assert manager1.post("/api/v1/onsite/equipment", json={
        "equipment_type": "断路器", "location": "x", "transformer_id": other.id}).status_code == 403

    db_session.rollback()  # drop the read snapshot taken before the API's writes (SQLite WAL)
    order = make_order(db_session, "ST001-G01")
    record = manager1.post("/api/v1/onsite/service-records", json={"order_id": order.id,
                                                                    "content": "上门更换表箱锁具"})
    assert record.status_code == 201 and record.get_json()["result"]["order_id"] == order.id
    uploaded = manager1.post("/api/v1/onsite/documents", content_type="multipart/form-data", data={
        "owner_type": "service_record", "owner_id": str(record.get_json()["result"]["id"]),
        "file": [(io.BytesIO(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200), "work.mp4")]})
    assert uploaded.status_code == 201, uploaded.get_json()
    video = uploaded.get_json()["result"][0]
    assert video["kind"] == "video" and video["has_thumbnail"] is False
    assert manager1.get(video["url"]).mimetype == "video/mp4"
    assert api_as("manager2").get(video["url"]).status_code == 403


def test_service_record_entered_in_the_browser_goes_through_the_scope_check(db_session, login_as):
    manager1 = login_as("manager1")
    form = manager1.get("/servicerecordview/add")
    assert form.status_code == 200
    token = csrf_from(form.get_data(as_text=True))
    g02 = grid(db_session, "ST001-G02")
    manager1.post("/servicerecordview/add", data={"csrf_token": token, "grid": str(g02.id),
                                                   "content": "巡视台区，清理表箱杂物"})
    db_session.rollback()
    record = db_session.scalars(select(ServiceRecord)).one()
    assert record.grid_id == g02.id and record.staff_name == "李台区"
    manager1.post("/servicerecordview/add", data={"csrf_token": token, "grid": str(grid(db_session, "ST001-G05").id),
                                                   "content": "越权"})
    db_session.rollback()
    assert db_session.scalars(select(ServiceRecord)).all() == [record]


def test_energy_service_request_becomes_onsite_work_order(db_session, api_as):
    customer = make_customer(db_session, "ST001-G02")
    manager1 = api_as("manager1")
    created = manager1.post("/api/v1/energy/service-requests", json={
        "customer_id": customer.id, "content": "咨询安装家用充电桩", "intention": "ev_charging"})
    assert created.status_code == 201, created.get_json()
    db_session.rollback()
    order = db_session.get(WorkOrder, created.get_json()["result"]["id"])
    assert order.channel == "onsite" and order.demand_type == "service"
    assert order.customer_no == customer.customer_no and order.grid_id == customer.grid_id
    assert order.content.startswith("【电动汽车充电】")
    assert [i.code for i in db_session.get(Customer, customer.id).intentions] == ["ev_charging"]
    assert api_as("manager2").post("/api/v1/energy/service-requests", json={
        "customer_id": customer.id, "content": "x"}).status_code == 403


def test_visit_registered_in_the_browser_with_a_photo(db_session, login_as):
    customer = make_customer(db_session, "ST001-G01", address="示范县老街1号")
    manager1 = login_as("manager1")
    page = manager1.get(f"/onsite/customer/{customer.id}")
    token = csrf_from(page.get_data(as_text=True))
    done = manager1.post(f"/onsite/customer/{customer.id}/visit", follow_redirects=True,
                         content_type="multipart/form-data",
                         data={"csrf_token": token, "address": "示范县老街1号2幢", "intentions": ["heat_pump"],
                               "photos": [(io.BytesIO(image_bytes("PNG")), "door.png")]})
    html = done.get_data(as_text=True)
    assert 'id="customer-address">示范县老街1号2幢<' in html
    assert 'class="old-value">示范县老街1号<' in html and 'class="visit-photo"' in html
    assert "热泵" in html.split('id="customer-intentions"', 1)[1].split("</td>", 1)[0]


def test_onsite_and_energy_endpoints_are_in_the_openapi_document(api_as):
    spec = api_as("manager1").get("/api/v1/_openapi").get_json()
    paths = set(spec["paths"])
    for path in ("/onsite/choices", "/onsite/customers/{pk}/visits", "/onsite/documents/{pk}", "/onsite/anomalies/{pk}/verify",
                 "/onsite/safety-records", "/onsite/equipment", "/energy/analysis",
                 "/energy/customers/export", "/energy/capacity/transformers/{pk}",
                 "/energy/campaigns/{pk}/run", "/energy/service-requests"):
        assert "/api/v1" + path in paths, path
