"""Row scope, entity by entity: what belongs to manager1's grid (ST001-G01) is neither listed
nor fetched by a district manager of other grids (manager2) or by another station's staff
(st2_manager1, leader2, director2) — on the screens and through the REST API alike — while
the owner and the station's leaders do see it."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from app.models.report import ReportArchive
from tests.energy_helpers import image_bytes
from tests.factories import grid, make_customer, make_order

OUTSIDERS = ("manager2", "st2_manager1")
OTHER_STATION = ("leader2", "director2")


@pytest.fixture
def owned(db_session, api_as):
    """One of each scoped entity, created in ST001-G01 as its district manager would."""
    g01 = grid(db_session, "ST001-G01")
    customer = make_customer(db_session, "ST001-G01", name="范围测试客户甲")
    order = make_order(db_session, "ST001-G01", content="范围测试工单内容甲")
    manager1 = api_as("manager1")
    visit = manager1.post(f"/api/v1/onsite/customers/{customer.id}/visits", data={
        "note": "范围测试走访甲", "photos": [(io.BytesIO(image_bytes("JPEG")), "m.jpg")]},
        content_type="multipart/form-data")
    assert visit.status_code == 201, visit.get_json()
    service = manager1.post("/api/v1/onsite/service-records", json={
        "order_id": order.id, "content": "范围测试服务记录甲"})
    assert service.status_code == 201, service.get_json()
    safety = manager1.post("/api/v1/onsite/safety-records", json={
        "grid_id": g01.id, "site": "范围测试配电房甲", "hazards": "门锁损坏",
        "rectification_required": "更换门锁", "deadline": "2026-12-05"})
    assert safety.status_code == 201, safety.get_json()
    equipment = manager1.post("/api/v1/onsite/equipment", json={
        "equipment_type": "断路器", "location": "范围测试表箱甲", "transformer_id": g01.transformers[0].id})
    assert equipment.status_code == 201, equipment.get_json()
    anomaly = manager1.post("/api/v1/onsite/anomalies", json={
        "grid_id": g01.id, "meter_box_no": "BX-SCOPE", "meter_no": "M-SCOPE-1",
        "expected": "范围测试表位甲", "found": "范围测试表位乙"})
    assert anomaly.status_code == 201, anomaly.get_json()
    db_session.rollback()
    archive = ReportArchive(month="2026-10", scope_kind="station", station_id=g01.station_id,
                            title="范围测试月报甲", file_name="scope-test.pdf", size_bytes=1,
                            sha256="0" * 64, generated_at=dt.datetime.now(dt.timezone.utc))
    db_session.add(archive)
    db_session.commit()
    return {
        "customer": customer.id, "order": order.id, "visit_photo": visit.get_json()["result"]["photos"][0]["id"],
        "visit": visit.get_json()["result"]["id"], "service": service.get_json()["result"]["id"],
        "safety": safety.get_json()["result"]["id"], "equipment": equipment.get_json()["result"]["id"],
        "anomaly": anomaly.get_json()["result"]["id"], "archive": archive.id,
        "order_number": order.number,
    }


SCREENS = [  # (entity, list url, show url pattern, marker on the page)
    ("customer", "/customerview/list/", "/customerview/show/{}", "范围测试客户甲"),
    ("order", "/workorderview/list/", "/workorderview/show/{}", "order_number"),
    ("visit", "/visitview/list/", "/visitview/show/{}", "范围测试客户甲"),
    ("service", "/servicerecordview/list/", "/servicerecordview/show/{}", "范围测试服务记录甲"),
    ("safety", "/safetyrecordview/list/", "/safetyrecordview/show/{}", "范围测试配电房甲"),
    ("equipment", "/equipmentrecordview/list/", "/equipmentrecordview/show/{}", "范围测试表箱甲"),
    ("anomaly", "/meterboxanomalyview/list/", "/meterboxanomalyview/show/{}", "范围测试表位甲"),
]


def _hidden(response, marker: str) -> bool:
    """Refused, not found, redirected away — or shown without the record."""
    return response.status_code in (302, 403, 404) or marker not in response.get_data(as_text=True)


def test_owner_sees_every_scoped_record_on_screen(owned, login_as):
    manager1 = login_as("manager1")
    for entity, list_url, show_url, marker in SCREENS:
        marker = owned.get(marker, marker)
        assert marker in manager1.get(list_url).get_data(as_text=True), entity
        shown = manager1.get(show_url.format(owned[entity]))
        assert shown.status_code == 200 and marker in shown.get_data(as_text=True), entity


@pytest.mark.parametrize("username", OUTSIDERS + OTHER_STATION)
def test_outsiders_neither_list_nor_open_records_on_screen(owned, login_as, username):
    client = login_as(username)
    for entity, list_url, show_url, marker in SCREENS:
        marker = owned.get(marker, marker)
        listed = client.get(list_url)
        assert _hidden(listed, marker), (username, entity, "list")
        assert _hidden(client.get(show_url.format(owned[entity])), marker), (username, entity, "show")
    assert _hidden(client.get(f"/onsite/customer/{owned['customer']}"), "范围测试客户甲")
    assert client.get(f"/onsite/document/{owned['visit_photo']}/thumbnail").status_code in (302, 403, 404)


@pytest.mark.parametrize("username", OUTSIDERS + OTHER_STATION)
def test_outsiders_neither_list_nor_fetch_records_through_the_api(owned, api_as, username):
    api = api_as(username)
    fetches = [f"/api/v1/workorder/{owned['order']}", f"/api/v1/onsite/customers/{owned['customer']}",
               f"/api/v1/onsite/anomalies/{owned['anomaly']}",
               f"/api/v1/onsite/documents/{owned['visit_photo']}",
               f"/api/v1/onsite/documents/{owned['visit_photo']}/thumbnail",
               f"/api/v1/energy/customers/{owned['customer']}/bills",
               f"/api/v1/energy/customers/{owned['customer']}/analysis"]
    for url in fetches:  # known records outside the caller's scope: 403, never their content
        answer = api.get(url)
        assert answer.status_code == 403, (username, url, answer.status_code)
        assert "范围测试" not in answer.get_data(as_text=True)
    lists = {"/api/v1/workorder/": owned["order"], "/api/v1/onsite/anomalies": owned["anomaly"],
             "/api/v1/onsite/service-records": owned["service"],
             "/api/v1/onsite/safety-records": owned["safety"], "/api/v1/onsite/equipment": owned["equipment"],
             "/api/v1/energy/customers": owned["customer"]}
    for url, pk in lists.items():  # every outsider has these lists, scoped to their own rows
        answer = api.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        assert pk not in [row.get("id") for row in answer.get_json()["result"]], (username, url)
    found = api.get("/api/v1/onsite/customers", query_string={"q": "范围测试客户甲"})
    assert found.status_code in (400, 403) or found.get_json()["result"] == [], (username, found.get_json())
    # and cannot act on them either
    assert api.post(f"/api/v1/onsite/safety-records/{owned['safety']}/close",
                    json={"note": "x"}).status_code == 403
    assert api.post(f"/api/v1/onsite/anomalies/{owned['anomaly']}/rectify",
                    json={"record": "x"}).status_code == 403


UNKNOWN = 2147483000  # a valid id no record has


def test_unknown_records_are_404_through_the_api(api_as):
    api = api_as("manager1")
    for url in [f"/api/v1/workorder/{UNKNOWN}", f"/api/v1/onsite/customers/{UNKNOWN}",
                f"/api/v1/onsite/anomalies/{UNKNOWN}", f"/api/v1/onsite/documents/{UNKNOWN}",
                f"/api/v1/onsite/documents/{UNKNOWN}/thumbnail", f"/api/v1/energy/customers/{UNKNOWN}/bills",
                f"/api/v1/energy/customers/{UNKNOWN}/analysis"]:
        assert api.get(url).status_code == 404, url
    assert api.post(f"/api/v1/onsite/safety-records/{UNKNOWN}/close", json={"note": "x"}).status_code == 404
    assert api.post(f"/api/v1/onsite/anomalies/{UNKNOWN}/rectify", json={"record": "x"}).status_code == 404


def test_report_archive_is_kept_to_its_station(owned, login_as):
    own = login_as("director1")
    assert "范围测试月报甲" in own.get("/reportarchiveview/list/").get_data(as_text=True)
    # a station report: not for a team leader, and not for another station
    for username in ("leader1", *OTHER_STATION):
        other = login_as(username)
        assert "范围测试月报甲" not in other.get("/reportarchiveview/list/").get_data(as_text=True)
        assert _hidden(other.get(f"/reportarchiveview/show/{owned['archive']}"), "范围测试月报甲")
        assert other.get(f"/reportarchiveview/download/{owned['archive']}").status_code == 404
