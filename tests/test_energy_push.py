"""Push campaigns: one message per targeted customer, each recorded; a re-run pushes nobody twice."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from app.models.customer import EnergyIntention
from app.models.energy import PushMessage
from tests.factories import make_customer


def _outbox_lines(app):
    return [json.loads(line) for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("sms-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def test_campaign_pushes_once_per_targeted_customer_and_rerun_pushes_nobody_twice(app, db_session, api_as):
    pv = db_session.scalar(select(EnergyIntention).where(EnergyIntention.code == "pv"))
    targets = [make_customer(db_session, "ST001-G01", name="光伏甲", intentions=[pv]),
               make_customer(db_session, "ST001-G05", name="光伏乙", intentions=[pv])]
    make_customer(db_session, "ST001-G01", name="无意向")
    make_customer(db_session, "ST002-G01", name="外所光伏", intentions=[pv])
    before = len(_outbox_lines(app))

    director = api_as("director1")
    created = director.post("/api/v1/energy/campaigns", json={
        "name": "屋顶光伏推广", "criteria": {"intention": "pv"},
        "template": "{name}您好，您所在的{grid}可申请屋顶光伏并网，详询台区经理。"})
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["result"]["id"]

    first = director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]
    assert first == {"created": 2, "skipped": 0, "sent": 2, "failed": 0}
    sent = _outbox_lines(app)[before:]
    assert sorted(m["to"] for m in sent) == sorted(c.phone for c in targets)
    assert any(m["body"].startswith("光伏甲您好") for m in sent)

    again = director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]
    assert again == {"created": 0, "skipped": 2, "sent": 0, "failed": 0}
    assert len(_outbox_lines(app)) == before + 2

    db_session.rollback()
    messages = db_session.scalars(select(PushMessage).where(PushMessage.campaign_id == campaign_id)).all()
    assert sorted(m.customer_id for m in messages) == sorted(c.id for c in targets)
    assert {m.state for m in messages} == {"sent"} and all(m.sent_at for m in messages)
    detail = director.get(f"/api/v1/energy/campaigns/{campaign_id}").get_json()["result"]
    assert [m["state"] for m in detail["messages"]] == ["sent", "sent"]


def test_campaign_refuses_unknown_placeholders_and_district_managers(api_as):
    director = api_as("director1")
    bad = director.post("/api/v1/energy/campaigns", json={"name": "x", "template": "{id_number}您好"})
    assert bad.status_code == 400 and "id_number" in bad.get_json()["message"]
    assert api_as("manager1").post("/api/v1/energy/campaigns",
                                   json={"name": "x", "template": "{name}"}).status_code == 403
    beyond = api_as("admin").post("/api/v1/energy/campaigns", json={
        "name": "x", "template": "{name}", "station_id": 11967550871915121810079744})
    assert (beyond.status_code, beyond.get_json()["field"]) == (400, "station_id")  # not a 500 (PostgreSQL)


def test_failed_gateway_delivery_is_recorded_and_retried_without_duplicates(app, db_session, api_as):
    import socket
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    received = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    pv = db_session.scalar(select(EnergyIntention).where(EnergyIntention.code == "pv"))
    customer = make_customer(db_session, "ST001-G02", intentions=[pv])
    director = api_as("director1")
    campaign_id = director.post("/api/v1/energy/campaigns", json={
        "name": "光伏", "criteria": {"intention": "pv"}, "template": "{name}您好"}).get_json()["result"]["id"]

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    saved = {k: app.config[k] for k in ("PUSH_SENDER", "SMS_GATEWAY_URL", "SMS_GATEWAY_KEY")}
    try:
        app.config.update(PUSH_SENDER="sms_gateway", SMS_GATEWAY_URL=f"http://127.0.0.1:{closed_port}/send",
                          SMS_GATEWAY_KEY="k-123")
        failed = director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]
        assert failed == {"created": 1, "skipped": 0, "sent": 0, "failed": 1}
        db_session.rollback()
        message = db_session.scalars(select(PushMessage).where(PushMessage.campaign_id == campaign_id)).one()
        assert message.state == "failed" and message.error

        app.config["SMS_GATEWAY_URL"] = f"http://127.0.0.1:{server.server_address[1]}/send"
        retried = director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]
        assert retried == {"created": 0, "skipped": 1, "sent": 1, "failed": 0}
        assert received == [("Bearer k-123", {"to": customer.phone, "content": f"{customer.name}您好"})]
        assert director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]["sent"] == 0
        assert len(received) == 1
    finally:
        server.shutdown()
        app.config.update(saved)


def test_station_manager_creates_a_campaign_on_the_screen(db_session, login_as):
    from tests.conftest import csrf_from

    director = login_as("director1")
    form = director.get("/pushcampaignview/add")
    assert form.status_code == 200
    done = director.post("/pushcampaignview/add", follow_redirects=True, data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "name": "热泵推广",
        "template": "{name}您好，热泵补贴政策已发布。", "intention": "heat_pump", "grid": "ST001-G03",
        "customer_type": "", "tag": "", "q": ""})
    assert done.status_code == 200
    from app.models.energy import PushCampaign

    db_session.rollback()
    campaign = db_session.scalars(select(PushCampaign)).one()
    assert campaign.criteria == {"grid": "ST001-G03", "intention": "heat_pump"}
    assert campaign.created_by_name == "周所长" and "热泵推广" in done.get_data(as_text=True)
    refused = director.post("/pushcampaignview/add", follow_redirects=True, data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "name": "x", "template": "{phone}"})
    assert "phone" in refused.get_data(as_text=True)
    db_session.rollback()
    assert len(db_session.scalars(select(PushCampaign)).all()) == 1

    pv_heat = db_session.scalar(select(EnergyIntention).where(EnergyIntention.code == "heat_pump"))
    target = make_customer(db_session, "ST001-G03", intentions=[pv_heat])
    listed = director.get("/pushcampaignview/list/")
    ran = director.post("/pushcampaignview/action_post", follow_redirects=True, data={
        "csrf_token": csrf_from(listed.get_data(as_text=True)), "action": "run", "rowid": [str(campaign.id)]})
    assert ran.status_code == 200
    db_session.rollback()
    pushed = db_session.scalars(select(PushMessage).where(PushMessage.campaign_id == campaign.id)).all()
    assert [(m.customer_id, m.state) for m in pushed] == [(target.id, "sent")]


def test_campaign_pushed_from_the_command_line_twice_reaches_each_customer_once(app, db_session):
    from app.energy import push
    from tests.factories import actor

    pv = db_session.scalar(select(EnergyIntention).where(EnergyIntention.code == "pv"))
    make_customer(db_session, "ST001-G06", intentions=[pv])
    campaign = push.create_campaign(db_session, actor(db_session, "director1"), name="光伏",
                                    template="{name}您好", criteria={"intention": "pv"})
    db_session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["gridcare", "energy", "push", str(campaign.id)])
    assert first.exit_code == 0, first.output
    assert "created: 1, already reached: 0, sent: 1, failed: 0" in first.output
    second = runner.invoke(args=["gridcare", "energy", "push", str(campaign.id)])
    assert "created: 0, already reached: 1, sent: 0" in second.output
    missing = runner.invoke(args=["gridcare", "energy", "push", "999999"])
    assert missing.exit_code != 0 and "no such campaign" in missing.output
