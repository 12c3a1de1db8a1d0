"""The rules issue's first acceptance line end to end: a rule made in the editor routes the
next order that arrives through the intake API."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from app.channels import apikeys
from app.models.workorder import WorkOrder
from app.workflow import calendar
from tests.factories import make_customer, staff
from tests.rules_helpers import HOTLINE_POWER_CUT
from tests.test_rules_editor import _editor_form


def test_editor_rule_routes_the_next_hotline_intake_order(app, db_session, login_as, client):
    admin = login_as("admin")
    html = admin.get("/rules/new/routing").get_data(as_text=True)
    saved = admin.post("/rules/save", data=_editor_form(
        html, name="12345停电投诉", priority="100", active="on",
        rules_json=json.dumps([HOTLINE_POWER_CUT], ensure_ascii=False)))
    assert saved.status_code == 302

    customer = make_customer(db_session, "ST001-G02")
    key = apikeys.create_key(db_session, "hotline_12345", "12345平台").plain
    db_session.commit()
    received = "2026-11-27T10:00:00+08:00"  # a Friday: one working day later is Monday
    base = {"contact_name": "王女士", "phone": "13800001111", "address": "示范县幸福路1号",
            "customer_no": customer.customer_no, "received_at": received}
    matching = client.post("/api/v1/intake/hotline_12345", headers={"X-API-Key": key}, json={
        **base, "external_id": "12345-2026-000001", "demand_type": "complaint",
        "content": "小区整栋楼停电三小时无人处理"})
    other = client.post("/api/v1/intake/hotline_12345", headers={"X-API-Key": key}, json={
        **base, "external_id": "12345-2026-000002", "demand_type": "consultation",
        "content": "咨询峰谷电价"})
    assert matching.status_code == 201 and other.status_code == 201, (matching.get_json(), other.get_json())

    db_session.rollback()
    routed = db_session.get(WorkOrder, matching.get_json()["id"])
    plain = db_session.get(WorkOrder, other.get_json()["id"])
    start = dt.datetime.fromisoformat(received)
    assert routed.assignee_id == staff(db_session, "director1").id and routed.state == "dispatched"
    assert routed.deadline == calendar.add_working_days(start, 1)
    assert plain.assignee_id == staff(db_session, "manager1").id  # the grid's district manager
    assert dt.datetime.fromisoformat(matching.get_json()["deadline"]) == routed.deadline
    assert routed.deadline.astimezone(calendar.LOCAL_TZ).date() == dt.date(2026, 11, 30)
    assert db_session.scalar(select(WorkOrder).where(WorkOrder.external_id == "12345-2026-000001")) is not None
