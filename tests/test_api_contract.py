"""The OpenAPI document is a contract, not a list of names: every operation of GridCare's own
APIs under ``/api/v1/`` describes its success response with a schema that says what the body
holds (Flask-AppBuilder's own security, menu and OpenAPI endpoints are not ours to describe)."""

from __future__ import annotations

from typing import Any

from tests.conftest import api_token

NOT_OURS = ("/api/v1/security/", "/api/v1/menu/", "/api/v1/_openapi")
METHODS = {"get", "put", "post", "patch", "delete"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An object names its properties (or is a declared map), an array types its items, and
    so on all the way down; a nullable nested object (``anyOf`` of null and the object) counts
    by its object."""
    schema = _resolve(spec, schema)
    for combined in ("allOf", "anyOf", "oneOf"):
        if combined in schema:
            branches = [_resolve(spec, branch) for branch in schema[combined]]
            typed = [b for b in branches if b != {"type": "object", "nullable": True}]
            return bool(typed) and all(_typed(spec, b) for b in typed)
    if schema.get("type") == "array":
        return _typed(spec, schema.get("items", {}))
    if schema.get("type") == "object" or "properties" in schema:
        if "properties" in schema:
            return all(_typed(spec, field) for field in schema["properties"].values())
        return "additionalProperties" in schema
    return "type" in schema


def _describes_its_body(spec: dict[str, Any], media_type: str, schema: dict[str, Any] | None) -> bool:
    if not schema:
        return False
    if not media_type.startswith("application/json"):
        return _resolve(spec, schema) == {"type": "string", "format": "binary"}
    return _typed(spec, schema) and bool(_resolve(spec, schema).get("properties")
                                         or _resolve(spec, schema).get("items"))


def _undescribed(spec: dict[str, Any]) -> list[str]:
    missing = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith(NOT_OURS):
            continue
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            successes = [r for status, r in operation["responses"].items() if str(status).startswith("2")]
            described = successes and all(
                r.get("content") and all(_describes_its_body(spec, media, c.get("schema"))
                                         for media, c in r["content"].items())
                for r in successes)
            if not described:
                missing.append(f"{method.upper()} {path}")
    return missing


def test_every_operation_describes_its_success_response_with_a_schema(app):
    client = app.test_client()
    token = api_token(client, "admin")
    spec = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    ours = [p for p in spec["paths"] if p.startswith("/api/v1/") and not p.startswith(NOT_OURS)]
    assert len(ours) >= 30
    assert _undescribed(spec) == []


def test_nullable_fields_say_so_in_the_document(app):
    client = app.test_client()
    token = api_token(client, "admin")
    spec = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    order = spec["components"]["schemas"]["WorkOrderSchema"]
    assert order["properties"]["deadline"].get("nullable") is True
    assert "deadline" in order["required"]
    assert order["properties"]["state"]["enum"][0] == "registered"


def test_answers_with_real_data_conform_to_the_document(app, db_session):
    """The fuzz mostly meets unknown ids; here every operation answers about records that exist
    and its body is checked against the document (schemathesis' response conformance)."""
    import datetime as dt
    import io

    import schemathesis
    from PIL import Image
    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy import select

    from app import announcements
    from app.channels import apikeys
    from app.extensions import db
    from app.models.announcement import Announcement
    from app.models.base import utcnow
    from app.models.energy import DemandReading
    from app.models.notification import Notification
    from app.models.points import WorkPointEntry
    from tests.factories import grid, make_customer, make_order, staff

    customer = make_customer(db_session)
    order = make_order(db_session, customer_no=customer.customer_no, phone=customer.phone)
    grid_id, station_id = grid(db_session, "ST001-G01").id, grid(db_session, "ST001-G01").station_id
    with app.app_context():
        key = apikeys.create_key(db.session, "hotline_12345", "contract client").plain
        db.session.commit()
    client = app.test_client()
    admin = {"Authorization": f"Bearer {api_token(client, 'admin')}"}
    spec = client.get("/api/v1/_openapi", headers=admin).get_json()
    schema = schemathesis.openapi.from_dict(spec)
    checked: list[str] = []

    def call(method: str, template: str, path: str, json: Any = None, headers: dict[str, str] | None = None,
             status: int = 200, data: Any = None) -> Any:
        response = client.open(path, method=method, json=json, data=data, headers=headers or admin)
        assert response.status_code == status, (method, path, response.get_data(as_text=True)[:500])
        schema[template][method].validate_response(response)
        checked.append(f"{method} {template}")
        return response.get_json()

    call("GET", "/api/v1/workorder/", "/api/v1/workorder/")
    version = call("GET", "/api/v1/workorder/{pk}", f"/api/v1/workorder/{order.id}")["result"]["version"]
    call("GET", "/api/v1/workorder/{pk}/candidates", f"/api/v1/workorder/{order.id}/candidates")
    call("POST", "/api/v1/workorder/{pk}/{action}", f"/api/v1/workorder/{order.id}/dispatch",
         {"assignee": "manager1", "version": version})

    demand = {"external_id": "C-1", "demand_type": "consultation", "content": "电费咨询",
              "phone": "13800001111", "received_at": "2026-11-28T09:30:00+08:00"}
    call("POST", "/api/v1/intake/{channel}", "/api/v1/intake/hotline_12345", demand, {"X-API-Key": key}, 201)
    call("POST", "/api/v1/intake/{channel}", "/api/v1/intake/hotline_12345", demand, {"X-API-Key": key})
    call("GET", "/api/v1/intake/{channel}/feedback", "/api/v1/intake/hotline_12345/feedback?after=0",
         headers={"X-API-Key": key})

    c = customer.id
    call("GET", "/api/v1/onsite/choices", "/api/v1/onsite/choices")
    call("GET", "/api/v1/onsite/customers", f"/api/v1/onsite/customers?q={customer.customer_no}")
    call("POST", "/api/v1/onsite/customers/{pk}/visits", f"/api/v1/onsite/customers/{c}/visits",
         {"note": "走访", "contact_confirmed": True}, status=201)
    call("GET", "/api/v1/onsite/customers/{pk}", f"/api/v1/onsite/customers/{c}")
    call("GET", "/api/v1/onsite/visits", "/api/v1/onsite/visits")
    anomaly = call("POST", "/api/v1/onsite/anomalies", "/api/v1/onsite/anomalies",
                   {"grid_id": grid_id, "meter_box_no": "B-1", "meter_no": "M-1", "expected": "B-1",
                    "found": "B-2"}, status=201)["result"]["id"]
    call("GET", "/api/v1/onsite/anomalies", "/api/v1/onsite/anomalies")
    call("GET", "/api/v1/onsite/anomalies/counts", "/api/v1/onsite/anomalies/counts")
    call("POST", "/api/v1/onsite/anomalies/{pk}/rectify", f"/api/v1/onsite/anomalies/{anomaly}/rectify",
         {"record": "已调整"})
    call("POST", "/api/v1/onsite/anomalies/{pk}/verify", f"/api/v1/onsite/anomalies/{anomaly}/verify", {})
    call("GET", "/api/v1/onsite/anomalies/{pk}", f"/api/v1/onsite/anomalies/{anomaly}")
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, "JPEG")
    document = call("POST", "/api/v1/onsite/documents", "/api/v1/onsite/documents", status=201,
                    data={"owner_type": "anomaly", "owner_id": str(anomaly),
                          "file": (io.BytesIO(photo.getvalue()), "box.jpg", "image/jpeg")})["result"][0]
    call("GET", "/api/v1/onsite/documents/{pk}", f"/api/v1/onsite/documents/{document['id']}")
    if document["has_thumbnail"]:
        call("GET", "/api/v1/onsite/documents/{pk}/thumbnail", f"/api/v1/onsite/documents/{document['id']}/thumbnail")
    call("POST", "/api/v1/onsite/service-records", "/api/v1/onsite/service-records",
         {"content": "上门服务", "customer_id": c}, status=201)
    call("GET", "/api/v1/onsite/service-records", "/api/v1/onsite/service-records")
    safety = call("POST", "/api/v1/onsite/safety-records", "/api/v1/onsite/safety-records",
                  {"grid_id": grid_id, "site": "配电房", "hazards": "门锁损坏", "deadline": "2026-12-31"},
                  status=201)["result"]["id"]
    call("POST", "/api/v1/onsite/safety-records/{pk}/close", f"/api/v1/onsite/safety-records/{safety}/close",
         {"note": "已整改"})
    call("GET", "/api/v1/onsite/safety-records", "/api/v1/onsite/safety-records")
    call("POST", "/api/v1/onsite/equipment", "/api/v1/onsite/equipment",
         {"equipment_type": "电表箱", "location": "1号楼", "grid_id": grid_id}, status=201)
    call("GET", "/api/v1/onsite/equipment", "/api/v1/onsite/equipment")

    call("GET", "/api/v1/energy/customers/{pk}/bills", f"/api/v1/energy/customers/{c}/bills")
    call("GET", "/api/v1/energy/customers/{pk}/analysis", f"/api/v1/energy/customers/{c}/analysis")
    call("GET", "/api/v1/energy/analysis", f"/api/v1/energy/analysis?period=202610&grid_id={grid_id}")
    call("GET", "/api/v1/energy/customers", "/api/v1/energy/customers?grid=ST001-G01")
    call("GET", "/api/v1/energy/capacity/grids/{pk}", f"/api/v1/energy/capacity/grids/{grid_id}")
    call("POST", "/api/v1/energy/service-requests", "/api/v1/energy/service-requests",
         {"customer_id": c, "content": "咨询光伏接入"}, status=201)
    campaign = call("POST", "/api/v1/energy/campaigns", "/api/v1/energy/campaigns",
                    {"name": "峰谷宣传", "template": "{name}您好", "criteria": {"grid": "ST001-G01"},
                     "station_id": station_id},
                    status=201)["result"]["id"]
    call("POST", "/api/v1/energy/campaigns/{pk}/run", f"/api/v1/energy/campaigns/{campaign}/run")
    call("GET", "/api/v1/energy/campaigns/{pk}", f"/api/v1/energy/campaigns/{campaign}")
    call("GET", "/api/v1/energy/campaigns", "/api/v1/energy/campaigns")

    db_session.commit()  # end the test's read transaction: on SQLite a reader turned writer is refused
    notice = Announcement(title="峰谷电价调整", body="自下月起执行", publish_from=utcnow() - dt.timedelta(hours=1))
    db_session.add(notice)
    db_session.flush()
    attachment = announcements.store_attachment(db_session, notice, "通知.pdf", b"%PDF-1.4 test", "application/pdf",
                                                app.config["DOCUMENT_DIR"]).id
    admin_id = db_session.scalar(select(User.id).where(User.username == "admin"))
    db_session.add(Notification(user_id=admin_id, kind="sla_warning", title="即将超时", order_id=order.id))
    db_session.commit()
    call("GET", "/api/v1/announcement/", "/api/v1/announcement/")
    call("GET", "/api/v1/announcement/{pk}", f"/api/v1/announcement/{notice.id}")
    call("POST", "/api/v1/announcement/{pk}/read", f"/api/v1/announcement/{notice.id}/read")
    call("GET", "/api/v1/announcement/{pk}/attachment/{attachment_id}",
         f"/api/v1/announcement/{notice.id}/attachment/{attachment}")
    notification = call("GET", "/api/v1/notification/", "/api/v1/notification/")["result"][0]["id"]
    call("POST", "/api/v1/notification/{pk}/read", f"/api/v1/notification/{notification}/read")
    call("PUT", "/api/v1/notification/preferences", "/api/v1/notification/preferences",
         {"by_sms": True, "sms_number": "13900001111", "quiet_start": "22:00", "quiet_end": "07:00"})
    call("GET", "/api/v1/notification/preferences", "/api/v1/notification/preferences")
    call("GET", "/api/v1/energy/customers/export", "/api/v1/energy/customers/export?format=csv")
    transformer = grid(db_session, "ST001-G01").transformers[0].id
    manager1 = staff(db_session, "manager1").id
    db_session.commit()  # end the read transaction before writing (SQLite)
    # with a reading (a transformer without any has an unknown capacity and takes no request)
    db_session.add(DemandReading(transformer_id=transformer, measured_at=utcnow(), demand_kva=50, source="metering"))
    db_session.commit()
    call("GET", "/api/v1/energy/capacity/transformers/{pk}", f"/api/v1/energy/capacity/transformers/{transformer}")
    call("GET", "/api/v1/energy/capacity/transformers/{pk}",
         f"/api/v1/energy/capacity/transformers/{transformer}?request_kva=0.1")
    db_session.add(WorkPointEntry(staff_id=manager1, source_type="visit", source_id=1,
                                  points=1, rule_set="工分标准", rule_set_version=1, rule_name="客户走访",
                                  lines=[{"rule": "客户走访", "points": 1.0, "reason": "award 1.00"}],
                                  facts={"source_type": "visit"}, created_at=utcnow()))
    db_session.commit()
    call("GET", "/api/v1/workpoint/", "/api/v1/workpoint/?source=visit")
    year = call("GET", "/api/v1/calendar/{year}", "/api/v1/calendar/2026")
    call("PUT", "/api/v1/calendar/{year}", "/api/v1/calendar/2026", year)  # the same arrangement again
    call("GET", "/api/v1/mobile/sync", "/api/v1/mobile/sync")
    call("GET", "/api/v1/mobile/places", "/api/v1/mobile/places")
    call("POST", "/api/v1/mobile/demands", "/api/v1/mobile/demands",
         {"channel": "city_call", "demand_type": "report", "content": "路灯线路裸露", "grid": "ST001-G01"},
         status=201)
    call("POST", "/api/v1/mobile/orders/{pk}/photos", f"/api/v1/mobile/orders/{order.id}/photos", status=201,
         data={"photos": (io.BytesIO(photo.getvalue()), "meter.jpg", "image/jpeg")})
    call("GET", "/api/v1/mobile/orders/{pk}/photos", f"/api/v1/mobile/orders/{order.id}/photos")
    call("POST", "/api/v1/session/logout", "/api/v1/session/logout")
    ours = {f"{method.upper()} {path}" for path, operations in spec["paths"].items()
            if path.startswith("/api/v1/") and not path.startswith(NOT_OURS)
            for method in operations if method in METHODS}
    assert ours - set(checked) == set()
