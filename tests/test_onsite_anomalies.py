"""Box–meter anomalies: registered → rectified → verified, each step timed and attributed."""

from __future__ import annotations

import io

from sqlalchemy import select

from app.models.notification import Notification
from app.models.onsite import AnomalyEvent, MeterBoxAnomaly
from tests.conftest import csrf_from
from tests.energy_helpers import image_bytes
from tests.factories import grid, staff


def test_anomaly_goes_registered_rectified_verified_with_timeline_shown(db_session, api_as, login_as):
    g01 = grid(db_session, "ST001-G01")
    manager1 = api_as("manager1")
    registered = manager1.post("/api/v1/onsite/anomalies", content_type="multipart/form-data", data={
        "grid_id": str(g01.id), "meter_box_no": "BX-0101", "meter_no": "M0000000042",
        "expected": "表箱BX-0101第3表位", "found": "表箱BX-0102第1表位",
        "photos": [(io.BytesIO(image_bytes("JPEG")), "box.jpg")]})
    assert registered.status_code == 201, registered.get_json()
    anomaly_id = registered.get_json()["result"]["id"]

    assert manager1.post(f"/api/v1/onsite/anomalies/{anomaly_id}/verify", json={}).status_code == 403
    rectified = manager1.post(f"/api/v1/onsite/anomalies/{anomaly_id}/rectify",
                              json={"record": "已将电表迁回BX-0101第3表位并更新档案"})
    assert rectified.status_code == 200 and rectified.get_json()["result"]["state"] == "rectified"
    assert manager1.post(f"/api/v1/onsite/anomalies/{anomaly_id}/rectify",
                         json={"record": "again"}).status_code == 409

    db_session.rollback()
    bell = db_session.scalars(select(Notification).where(Notification.kind == "anomaly_rectified")).all()
    assert [n.link for n in bell] == [f"/meterboxanomalyview/show/{anomaly_id}"]
    assert bell[0].user_id == staff(db_session, "leader1").user_id

    leader = login_as("leader1")
    show = leader.get(f"/meterboxanomalyview/show/{anomaly_id}")
    assert show.status_code == 200
    verified = leader.post(f"/meterboxanomalyview/verify/{anomaly_id}", follow_redirects=True,
                           data={"csrf_token": csrf_from(show.get_data(as_text=True)), "accepted": "1",
                                 "note": "现场复核无误"})
    html = verified.get_data(as_text=True)
    timeline = html.split('id="anomaly-timeline"', 1)[1]
    assert timeline.count('class="timeline-step"') == 3
    for who in ("李台区", "王班长"):
        assert who in timeline
    assert "现场复核无误" in timeline

    db_session.rollback()
    anomaly = db_session.get(MeterBoxAnomaly, anomaly_id)
    assert anomaly.state == "verified" and anomaly.verified_by_name == "王班长"
    assert anomaly.registered_at <= anomaly.rectified_at <= anomaly.verified_at
    events = db_session.scalars(select(AnomalyEvent).where(AnomalyEvent.anomaly_id == anomaly_id)
                                .order_by(AnomalyEvent.id)).all()
    assert [(e.action, e.to_state, e.actor_name) for e in events] == [
        ("register", "registered", "李台区"), ("rectify", "rectified", "李台区"), ("verify", "verified", "王班长")]

    detail = manager1.get(f"/api/v1/onsite/anomalies/{anomaly_id}").get_json()["result"]
    assert len(detail["photos"]) == 1 and manager1.get(detail["photos"][0]["url"]).status_code == 200
    assert api_as("manager2").get(detail["photos"][0]["url"]).status_code == 403


def test_anomaly_list_counts_per_grid_in_scope(db_session, api_as, login_as):
    for code, n in (("ST001-G01", 2), ("ST001-G02", 1), ("ST001-G04", 1)):
        g = grid(db_session, code)
        for i in range(n):
            assert api_as("admin").post("/api/v1/onsite/anomalies", json={
                "grid_id": g.id, "meter_box_no": f"BX{i}", "meter_no": f"M{i}", "expected": "a",
                "found": "b"}).status_code == 201
    counts = api_as("manager1").get("/api/v1/onsite/anomalies/counts").get_json()["result"]
    assert counts == [{"grid": "ST001-G01", "registered": 2, "rectified": 0, "verified": 0},
                      {"grid": "ST001-G02", "registered": 1, "rectified": 0, "verified": 0}]
    page = login_as("manager1").get("/meterboxanomalyview/list/").get_data(as_text=True)
    assert "ST001-G01" in page and "ST001-G04" not in page  # neither in counts, rows nor filter drop-downs
    refused = api_as("manager2").post("/api/v1/onsite/anomalies", json={
        "grid_id": grid(db_session, "ST001-G01").id, "meter_box_no": "X", "meter_no": "Y",
        "expected": "a", "found": "b"})
    assert refused.status_code == 403
