"""Customer visits: look-up, the customer's whole picture, a visit with a corrected phone and
photos, history of the old value, and documents served only within scope."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import func, select

from app.models.customer import Bill, Customer
from app.models.document import Document
from app.models.onsite import CustomerChange, Visit
from tests.energy_helpers import files_under, image_bytes
from tests.factories import advance, make_customer, make_order


def _visit_with_photos(api, customer_id, **fields):
    data = {**fields, "photos": [(io.BytesIO(image_bytes("JPEG")), "meter.jpg"),
                                 (io.BytesIO(image_bytes("PNG", color="blue")), "box.png")]}
    return api.post(f"/api/v1/onsite/customers/{customer_id}/visits", data=data,
                    content_type="multipart/form-data")


def test_manager_registers_visit_with_corrected_phone_and_photos_others_cannot_fetch_them(
        db_session, api_as, login_as):
    customer = make_customer(db_session, "ST001-G02", phone="13800001111")
    manager1 = api_as("manager1")

    response = _visit_with_photos(manager1, customer.id, phone="13912345678", address_confirmed="true",
                                  tags="elderly_alone", intentions="pv", note="上门核对信息")
    assert response.status_code == 201, response.get_json()
    photos = response.get_json()["result"]["photos"]
    assert [p["content_type"] for p in photos] == ["image/jpeg", "image/png"]

    db_session.rollback()
    stored = db_session.get(Customer, customer.id)
    assert stored.phone == "13912345678"
    change = db_session.scalars(select(CustomerChange).where(CustomerChange.customer_id == customer.id)).one()
    assert (change.field, change.old_value, change.new_value) == ("phone", "13800001111", "13912345678")
    assert [t.code for t in stored.tags] == ["elderly_alone"] and [i.code for i in stored.intentions] == ["pv"]

    # The customer's page: manager1 (no PersonalData) sees both numbers masked, the photos shown.
    page = login_as("manager1").get(f"/onsite/customer/{customer.id}").get_data(as_text=True)
    assert "139****5678" in page and "138****1111" in page
    assert "13912345678" not in page and "13800001111" not in page
    for photo in photos:
        assert f"/onsite/document/{photo['id']}/thumbnail" in page
    # The team leader holds PersonalData: the full new phone and the old one in the history.
    leader_page = login_as("leader1").get(f"/onsite/customer/{customer.id}").get_data(as_text=True)
    assert 'id="customer-phone">13912345678<' in leader_page
    assert 'class="old-value">13800001111<' in leader_page

    original = manager1.get(photos[0]["url"])
    assert original.status_code == 200 and original.data == image_bytes("JPEG")
    thumbnail = manager1.get(photos[0]["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert login_as("manager1").get(f"/onsite/document/{photos[1]['id']}/thumbnail").status_code == 200

    manager2 = api_as("manager2")
    for photo in photos:  # known, outside manager2's grids: 403 on the API
        assert manager2.get(photo["url"]).status_code == 403
        assert manager2.get(photo["thumbnail_url"]).status_code == 403
    assert manager2.get("/api/v1/onsite/documents/2147483000").status_code == 404  # unknown
    manager2_browser = login_as("manager2")
    assert manager2_browser.get(f"/onsite/document/{photos[0]['id']}").status_code == 404
    assert manager2_browser.get(f"/onsite/customer/{customer.id}").status_code == 404
    assert manager2.get(f"/api/v1/onsite/customers/{customer.id}").status_code == 403


def test_refused_upload_stores_nothing(app, db_session, api_as):
    customer = make_customer(db_session, "ST001-G01", phone="13800002222")
    manager1 = api_as("manager1")
    root = app.config["DOCUMENT_DIR"]
    before = files_under(root)

    gif = b"GIF89a" + b"\x00" * 64
    refused = manager1.post(
        f"/api/v1/onsite/customers/{customer.id}/visits", content_type="multipart/form-data",
        data={"phone": "13900009999", "photos": [(io.BytesIO(image_bytes("JPEG", color="green")), "ok.jpg"),
                                                 (io.BytesIO(gif), "disguised.jpg")]})
    assert refused.status_code == 400
    assert "not allowed" in refused.get_json()["message"]

    renamed = manager1.post(f"/api/v1/onsite/customers/{customer.id}/visits", content_type="multipart/form-data",
                            data={"photos": [(io.BytesIO(image_bytes("PNG", color="green")), "clip.mp4")]})
    assert renamed.status_code == 400 and "image/png" in renamed.get_json()["message"]

    app.config["DOCUMENT_MAX_PHOTO_BYTES"] = 1000
    try:
        too_big = manager1.post(f"/api/v1/onsite/customers/{customer.id}/visits",
                                content_type="multipart/form-data",
                                data={"photos": [(io.BytesIO(image_bytes("JPEG", (800, 800), "white")), "big.jpg")]})
    finally:
        app.config["DOCUMENT_MAX_PHOTO_BYTES"] = 10 * 1024 * 1024
    assert too_big.status_code == 400 and "limit" in too_big.get_json()["message"]

    db_session.rollback()
    assert files_under(root) == before
    assert db_session.scalar(select(func.count()).select_from(Document)) == 0
    assert db_session.scalar(select(func.count()).select_from(Visit)) == 0
    assert db_session.get(Customer, customer.id).phone == "13800002222"


def test_customer_lookup_refuses_phone_search_without_personal_data(db_session, api_as, login_as):
    customer = make_customer(db_session, "ST001-G03", name="王小明", phone="13712340000", address="示范县幸福路8号")
    make_customer(db_session, "ST001-G04", name="王小红")  # manager2's grid
    manager1 = api_as("manager1")

    by_name = manager1.get("/api/v1/onsite/customers?q=王小").get_json()["result"]
    assert [c["customer_no"] for c in by_name] == [customer.customer_no]
    assert by_name[0]["phone"] == "137****0000"
    assert manager1.get("/api/v1/onsite/customers?q=幸福路").get_json()["result"][0]["id"] == customer.id
    assert manager1.get("/api/v1/onsite/customers?q=1371234").get_json()["result"] == []
    assert manager1.get("/api/v1/onsite/customers?q=%25").get_json()["result"] == []  # % is no wildcard
    assert manager1.get("/api/v1/onsite/customers?phone=13712340000").status_code == 403

    leader = api_as("leader1")
    found = leader.get("/api/v1/onsite/customers?phone=13712340000").get_json()["result"]
    assert [c["phone"] for c in found] == ["13712340000"]

    browser = login_as("manager1")
    assert browser.get("/onsite/customers?phone=13712340000").status_code == 403
    page = browser.get("/onsite/customers?q=王小").get_data(as_text=True)
    assert customer.customer_no in page and "137****0000" in page and 'name="phone"' not in page
    leader_page = login_as("leader1").get("/onsite/customers?phone=13712340000").get_data(as_text=True)
    assert customer.customer_no in leader_page and "13712340000" in leader_page


def test_customer_picture_holds_archive_last_twelve_bills_orders_and_visits(db_session, api_as):
    customer = make_customer(db_session, "ST001-G01")
    for month in range(1, 15):
        year, m = (2025, month) if month <= 12 else (2026, month - 12)
        db_session.add(Bill(customer_id=customer.id, period=f"{year}{m:02d}", total_kwh=Decimal(100),
                            peak_kwh=Decimal(50), flat_kwh=Decimal(30), valley_kwh=Decimal(20),
                            amount_yuan=Decimal("53.80")))
    db_session.commit()
    open_order = make_order(db_session, "ST001-G01", customer_no=customer.customer_no)
    done = make_order(db_session, "ST001-G01", customer_no=customer.customer_no)
    advance(db_session, done, ("dispatch", "leader1", {}), ("accept", "manager1", {}),
            ("resolve", "manager1", {"resolution": "已处理"}))
    manager1 = api_as("manager1")
    assert manager1.post(f"/api/v1/onsite/customers/{customer.id}/visits",
                         json={"contact_confirmed": True, "note": "回访"}).status_code == 201

    picture = manager1.get(f"/api/v1/onsite/customers/{customer.id}").get_json()["result"]
    assert picture["customer"]["customer_no"] == customer.customer_no
    assert [b["period"] for b in picture["bills"]] == [f"2026{m:02d}" for m in (2, 1)] + [
        f"2025{m:02d}" for m in range(12, 2, -1)]
    assert [o["id"] for o in picture["open_orders"]] == [open_order.id]
    assert [o["id"] for o in picture["past_orders"]] == [done.id]
    assert picture["visits"][0]["note"] == "回访" and picture["visits"][0]["contact_confirmed"] is True
    mine = manager1.get("/api/v1/onsite/visits?mine=1").get_json()["result"]
    assert [(v["customer_no"], v["staff"]) for v in mine] == [(customer.customer_no, "李台区")]
    assert api_as("manager2").get("/api/v1/onsite/visits").get_json()["result"] == []
