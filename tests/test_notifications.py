"""Notifications (issue 15): the assignee hears of work handed to them, the team leader of
returns and extension requests; in-app with the unread count in the navigation bar, by mail
and by SMS through the HTTP SMS gateway (a real receiver on loopback here).  A gateway that is
down never blocks the action: the message waits in the outbox and is retried."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Iterator

import pytest
import time_machine
from sqlalchemy import select

from app import clock
from app.models.notification import Notification, NotificationDelivery
from app.models.workorder import WorkOrder
from tests.conftest import csrf_from
from tests.factories import make_order

pytestmark = pytest.mark.date_sensitive

NUMBER = "13900001111"


class Receiver:
    """An SMS gateway on loopback that records what it is sent (or is down)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.server: HTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.headers["Authorization"], json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def gateway(app: Any) -> Iterator[Receiver]:
    """The gateway's address in the settings; the receiver is down until started."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = Receiver(port)
    saved = {k: app.config[k] for k in ("SMS_GATEWAY_URL", "SMS_GATEWAY_KEY")}
    app.config.update(SMS_GATEWAY_URL=f"http://127.0.0.1:{port}/sms/send", SMS_GATEWAY_KEY="gw-key-1")
    yield receiver
    receiver.stop()
    app.config.update(saved)


def _settings(client: Any, **fields: str) -> Any:
    page = client.get("/notification-settings/")
    assert page.status_code == 200
    return client.post("/notification-settings/", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                          **fields}, follow_redirects=False)


def _act(api: Any, order_id: int, action: str, **body: Any) -> Any:
    version = api.get(f"/api/v1/workorder/{order_id}").get_json()["result"]["version"]
    return api.post(f"/api/v1/workorder/{order_id}/{action}", json={"version": version, **body})


def _deliver(app: Any) -> str:
    result = app.test_cli_runner().invoke(args=["gridcare", "notifications", "deliver"])
    assert result.exit_code == 0, result.output
    return result.output.strip()


def _unread_badge(client: Any) -> str:
    html = client.get("/notifications/").get_data(as_text=True)
    return re.search(r'<span class="badge" id="gc-unread">([^<]*)</span>', html).group(1)


def test_dispatch_reaches_the_assignee_in_app_and_by_sms_even_while_the_gateway_is_down(
        app, db_session, login_as, api_as, gateway):
    manager = login_as("manager1")
    assert _settings(manager, by_sms="1", sms_number=NUMBER).status_code == 302
    assert _unread_badge(manager) == ""
    order = make_order(db_session, "ST001-G01", content="客户反映路灯不亮")

    dispatched = _act(api_as("leader1"), order.id, "dispatch", assignee="manager1")
    assert dispatched.status_code == 200  # the gateway is down: the dispatch goes through

    assert _unread_badge(manager) == "1"
    listing = manager.get("/notifications/").get_data(as_text=True)
    assert f"新工单 {order.number}，请及时接单" in listing
    assert 'data-channel="sms" data-state="pending"' in listing

    assert _deliver(app) == "sent 0, failed 1, deferred 0"
    db_session.rollback()
    waiting = db_session.scalars(select(NotificationDelivery)).one()
    assert (waiting.channel, waiting.address, waiting.state, waiting.attempts) == ("sms", NUMBER, "pending", 1)
    assert "unreachable" in waiting.last_error and waiting.next_attempt_at > clock.now()
    deliveries = login_as("admin").get("/notificationdeliveryview/list/").get_data(as_text=True)
    assert NUMBER in deliveries and "unreachable" in deliveries  # visible while it waits

    gateway.start()
    assert _deliver(app) == "sent 0, failed 0, deferred 0"  # not due yet: the retry waits
    assert gateway.received == []
    with time_machine.travel(clock.now() + dt.timedelta(minutes=2), tick=True):
        assert _deliver(app) == "sent 1, failed 0, deferred 0"
    assert len(gateway.received) == 1
    authorization, body = gateway.received[0]
    assert authorization == "Bearer gw-key-1"
    assert body["to"] == NUMBER and order.number in body["content"] and "请及时接单" in body["content"]
    db_session.rollback()
    sent = db_session.get(NotificationDelivery, waiting.id)
    assert (sent.state, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert _deliver(app) == "sent 0, failed 0, deferred 0"  # never twice
    assert len(gateway.received) == 1


def test_a_message_that_keeps_failing_gives_up_and_an_administrator_puts_it_back(
        app, db_session, login_as, api_as, gateway):
    assert _settings(login_as("manager1"), by_sms="1", sms_number=NUMBER).status_code == 302
    order = make_order(db_session, "ST001-G01")
    _act(api_as("leader1"), order.id, "dispatch", assignee="manager1")
    moment = clock.now()
    for minutes in (0, 2, 8, 40, 160, 530):  # each try after the previous one's delay
        with time_machine.travel(moment + dt.timedelta(minutes=minutes), tick=False):
            assert _deliver(app) == "sent 0, failed 1, deferred 0", minutes
    db_session.rollback()
    item = db_session.scalars(select(NotificationDelivery)).one()
    assert (item.state, item.attempts) == ("failed", 6)

    admin = login_as("admin")
    page = admin.get("/notificationdeliveryview/list/").get_data(as_text=True)
    assert "已放弃" in page
    admin.post("/notificationdeliveryview/action_post", follow_redirects=True, data={
        "csrf_token": csrf_from(page), "action": "retry", "rowid": [str(item.id)]})
    gateway.start()
    assert _deliver(app) == "sent 1, failed 0, deferred 0"
    assert len(gateway.received) == 1


def test_quiet_hours_hold_sms_until_they_end(app, db_session, login_as, api_as, gateway):
    local = clock.local_now()
    start = (local - dt.timedelta(hours=1)).strftime("%H:%M")
    end = (local + dt.timedelta(hours=1)).strftime("%H:%M")
    assert _settings(login_as("manager1"), by_sms="1", sms_number=NUMBER,
                     quiet_start=start, quiet_end=end).status_code == 302
    gateway.start()
    order = make_order(db_session, "ST001-G01")
    _act(api_as("leader1"), order.id, "dispatch", assignee="manager1")
    assert _deliver(app) == "sent 0, failed 0, deferred 0"
    assert gateway.received == []
    db_session.rollback()
    item = db_session.scalars(select(NotificationDelivery)).one()
    expected_end = (local + dt.timedelta(hours=1)).replace(second=0, microsecond=0)
    assert item.next_attempt_at == expected_end.astimezone(dt.timezone.utc)
    with time_machine.travel(expected_end + dt.timedelta(seconds=5), tick=False):
        assert _deliver(app) == "sent 1, failed 0, deferred 0"
    assert len(gateway.received) == 1


def test_mail_goes_to_the_address_on_record_unless_turned_off(app, db_session, login_as, api_as):
    order = make_order(db_session, "ST001-G01")
    _act(api_as("leader1"), order.id, "dispatch", assignee="manager1")
    db_session.rollback()
    mail = db_session.scalars(select(NotificationDelivery)).one()  # no mobile on record: mail only
    assert (mail.channel, mail.address) == ("mail", "manager1@gridcare.example")
    assert _deliver(app) == "sent 1, failed 0, deferred 0"

    assert _settings(login_as("manager1")).status_code == 302  # both boxes unticked
    db_session.rollback()
    second = make_order(db_session, "ST001-G02")
    _act(api_as("leader1"), second.id, "dispatch", assignee="manager1")
    db_session.rollback()
    assert db_session.scalars(select(NotificationDelivery).where(NotificationDelivery.id != mail.id)).all() == []
    assert db_session.scalars(select(Notification).where(Notification.order_id == second.id)).one()


def test_settings_refuse_a_bad_number_and_half_quiet_hours(login_as):
    manager = login_as("manager1")
    bad = _settings(manager, by_sms="1", sms_number="call me")
    assert bad.status_code == 400 and "请输入数字组成的电话号码" in bad.get_data(as_text=True)
    half = _settings(manager, quiet_start="22:00")
    assert half.status_code == 400
    assert "免打扰时段请同时填写开始和结束时间" in half.get_data(as_text=True)


def test_who_hears_what_along_an_orders_life(db_session, api_as, login_as):
    order = make_order(db_session, "ST001-G01")
    leader, manager1 = api_as("leader1"), api_as("manager1")
    _act(leader, order.id, "dispatch", assignee="manager1")
    _act(manager1, order.id, "return", reason="不属于本台区")
    _act(leader, order.id, "dispatch", assignee="manager1")
    _act(manager1, order.id, "accept")
    _act(leader, order.id, "urge", note="客户催促")
    _act(leader, order.id, "supervise")
    _act(manager1, order.id, "extend", days=2, reason="等待备件")
    _act(leader, order.id, "approve_extension")
    _act(leader, order.id, "transfer", assignee="manager2", reason="李台区外出")
    _act(api_as("manager2"), order.id, "resolve", resolution="已处理")
    _act(leader, order.id, "reject", reason="照片缺失")

    db_session.rollback()

    def titles(username: str) -> list[str]:
        from flask_appbuilder.security.sqla.models import User

        user_id = db_session.scalar(select(User.id).where(User.username == username))
        return list(db_session.scalars(select(Notification.title).where(
            Notification.user_id == user_id, Notification.order_id == order.id).order_by(Notification.id)))

    n = order.number
    assert titles("manager1") == [
        f"新工单 {n}，请及时接单", f"新工单 {n}，请及时接单", f"工单 {n} 被催办", f"工单 {n} 被所级督办",
        f"工单 {n} 延期申请已批准", f"工单 {n} 已转派他人"]
    assert titles("manager2") == [f"工单 {n} 已转派给您", f"工单 {n} 处理结果被驳回，请重新处理"]
    assert titles("leader1") == [f"工单 {n} 被退单，请重新派单", f"工单 {n} 申请延期 2 个工作日，请审批"]

    manager2 = login_as("manager2")
    assert _unread_badge(manager2) == "2"
    page = manager2.get("/notifications/").get_data(as_text=True)
    manager2.post("/notifications/read-all", data={"csrf_token": csrf_from(page)})
    assert _unread_badge(manager2) == ""


def test_an_unsatisfied_return_visit_tells_the_assignee_to_redo(db_session, api_as):
    order = make_order(db_session, "ST001-G01")
    leader, manager = api_as("leader1"), api_as("manager1")
    _act(leader, order.id, "dispatch", assignee="manager1")
    _act(manager, order.id, "accept")
    _act(manager, order.id, "resolve", resolution="已处理")
    assert _act(leader, order.id, "callback", satisfied=False).status_code == 200
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).state == "accepted"
    titles = list(db_session.scalars(select(Notification.title).where(Notification.order_id == order.id)))
    assert titles[-1] == f"工单 {order.number} 回访不满意，需重办"


def test_the_mobile_app_reads_and_sets_the_preferences(db_session, api_as):
    manager = api_as("manager1")
    assert manager.get("/api/v1/notification/preferences").get_json()["result"] == {
        "by_mail": True, "by_sms": True, "sms_number": None, "quiet_start": None, "quiet_end": None}
    put = manager.client.put("/api/v1/notification/preferences", headers=manager.headers,
                             json={"by_mail": False, "sms_number": NUMBER, "quiet_start": "22:00", "quiet_end": "07:00"})
    assert put.status_code == 200
    assert put.get_json()["result"] == {"by_mail": False, "by_sms": True, "sms_number": NUMBER,
                                        "quiet_start": "22:00", "quiet_end": "07:00"}
    for bad, field in (({"quiet_start": "25:00"}, "quiet_start"), ({"by_sms": "yes"}, "by_sms"),
                       ({"sms_number": "call me"}, "sms_number"), ({"quiet_end": None}, "quiet_end"),
                       ({"colour": "red"}, "colour")):
        refused = manager.client.put("/api/v1/notification/preferences", headers=manager.headers, json=bad)
        assert refused.status_code == 400 and refused.get_json()["field"] == field, bad
    assert manager.get("/api/v1/notification/preferences").get_json()["result"]["quiet_end"] == "07:00"

    order = make_order(db_session, "ST001-G01")
    _act(api_as("leader1"), order.id, "dispatch", assignee="manager1")
    db_session.rollback()
    assert [(d.channel, d.address) for d in db_session.scalars(select(NotificationDelivery))] == [("sms", NUMBER)]


def test_an_order_dispatched_by_the_routing_rules_tells_its_assignee(db_session):
    from tests.rules_helpers import HOTLINE_POWER_CUT, MONDAY_10, save

    save(db_session, "routing", "投诉升级", [HOTLINE_POWER_CUT])
    order = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                       content="电费账单金额有误", received_at=MONDAY_10)
    assert order.state == "dispatched"
    titles = list(db_session.scalars(select(Notification.title).where(Notification.order_id == order.id)))
    assert titles == [f"新工单 {order.number}，请及时接单"]


def test_an_overdue_order_reaches_the_team_leader_by_sms(app, db_session, login_as, gateway):
    from app.jobs.sla import sweep
    from app.workflow.calendar import LOCAL_TZ
    from tests.factories import advance

    assert _settings(login_as("leader1"), by_sms="1", sms_number="13700002222").status_code == 302
    received = dt.datetime(2026, 11, 23, 9, 0, tzinfo=LOCAL_TZ)  # a Monday: due Thursday 09:00
    order = make_order(db_session, "ST001-G01", received_at=received)
    advance(db_session, order, ("dispatch", "leader1", {}), now=received + dt.timedelta(hours=1))
    db_session.rollback()
    sms = select(NotificationDelivery).where(NotificationDelivery.channel == "sms")
    assert db_session.scalars(sms).all() == []  # (the dispatch mailed manager1, who has no mobile)

    sweep(db_session, received + dt.timedelta(days=1.6), {"SLA_MAIL": "0"})  # 53 %: the assignee only
    sweep(db_session, received + dt.timedelta(days=5), {"SLA_MAIL": "0"})  # overdue
    db_session.commit()
    queued = db_session.scalars(sms).all()
    assert [d.address for d in queued] == ["13700002222"]
    assert f"工单 {order.number}" in queued[0].subject and "超时" in queued[0].subject

    gateway.start()
    with time_machine.travel(received + dt.timedelta(days=5, hours=1), tick=False):  # both are due
        assert _deliver(app) == "sent 2, failed 0, deferred 0"  # the SMS and manager1's dispatch mail
    assert [body["to"] for _, body in gateway.received] == ["13700002222"]
