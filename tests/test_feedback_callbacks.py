"""Push delivery of feedback: a channel's results POSTed to its callback URL, signed, in
order, retried with backoff, waiting for an administrator after the last try; the command
``gridcare feedback deliver``; the callback and failed-delivery screens."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from app.channels import apikeys, callbacks
from app.models.channel import ChannelCallback, FeedbackOutbox
from app.models.workorder import WorkOrder
from tests import callback_receiver
from tests.conftest import csrf_from
from tests.factories import advance, make_customer, make_order

receiver = callback_receiver.receiver  # the loopback platform, a fixture shared with the gateway's tests

T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)
SECRET = "hotline-callback-secret-0123456789"


def resolved_hotline_orders(app, client, db_session, count: int) -> tuple[str, list[str]]:
    """``count`` hotline orders posted through the intake API and resolved one after another."""
    from app.extensions import db

    with app.app_context():
        key = apikeys.create_key(db.session, "hotline_12345", "12345 platform").plain
        db.session.commit()
    numbers = [make_customer(db_session, "ST001-G01").customer_no for _ in range(count)]
    db_session.rollback()
    external_ids = [f"CB-{n}" for n in range(count)]
    for external_id, customer_no in zip(external_ids, numbers):
        created = client.post("/api/v1/intake/hotline_12345", headers={"X-API-Key": key}, json={
            "external_id": external_id, "demand_type": "complaint", "content": "电压不稳，灯光闪烁",
            "phone": "13800001111", "customer_no": customer_no, "received_at": "2026-11-28T09:30:00+08:00"})
        assert created.status_code == 201, created.get_json()
    db_session.rollback()
    for order in db_session.scalars(select(WorkOrder).order_by(WorkOrder.id)).all():
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": f"已处理 {order.external_id}"}))
    return key, external_ids


def set_callback(db_session, url: str, secret: str = SECRET) -> None:
    callbacks.set_callback(db_session, "hotline_12345", url, secret=secret, now=T0)
    db_session.commit()


def deliver(db_session, now: dt.datetime) -> tuple[int, int]:
    report = callbacks.deliver(db_session, now)
    return report.delivered, report.failed


def test_a_callback_failing_twice_gets_every_result_once_in_order_signed(app, client, db_session, receiver):
    platform = receiver([500, 503])
    set_callback(db_session, platform.url)
    key, external_ids = resolved_hotline_orders(app, client, db_session, 3)

    assert deliver(db_session, T0) == (0, 1)
    assert deliver(db_session, T0 + dt.timedelta(seconds=30)) == (0, 0)  # waits out the backoff
    assert deliver(db_session, T0 + dt.timedelta(minutes=1)) == (0, 1)
    assert deliver(db_session, T0 + dt.timedelta(minutes=5)) == (0, 0)
    assert deliver(db_session, T0 + dt.timedelta(minutes=6)) == (3, 0)
    assert deliver(db_session, T0 + dt.timedelta(minutes=7)) == (0, 0)

    # the failing first result held the others back: nothing overtook it
    assert [json.loads(body)["external_id"] for _, _, body in platform.calls] == \
        ["CB-0", "CB-0", "CB-0", "CB-1", "CB-2"]
    accepted = platform.accepted()
    assert [r["external_id"] for r in accepted] == external_ids
    assert [r["seq"] for r in accepted] == sorted(r["seq"] for r in accepted)
    for _, headers, body in platform.calls:
        assert callbacks.signature_is_valid(SECRET, body, headers["X-GridCare-Signature"])
        assert not callbacks.signature_is_valid("another-secret-0123456789", body,
                                                headers["X-GridCare-Signature"])
        assert headers["X-GridCare-Signature"].startswith("sha256=")
    # the same object as the feedback endpoint gives
    feed = client.get("/api/v1/intake/hotline_12345/feedback", query_string={"after": 0},
                      headers={"X-API-Key": key}).get_json()["result"]
    assert accepted == feed
    db_session.rollback()
    entries = db_session.scalars(select(FeedbackOutbox).order_by(FeedbackOutbox.seq)).all()
    assert [(e.attempts, e.delivered_at) for e in entries] == [
        (3, T0 + dt.timedelta(minutes=6)), (1, T0 + dt.timedelta(minutes=6)), (1, T0 + dt.timedelta(minutes=6))]


def test_a_tampered_body_or_a_wrong_secret_fails_verification():
    body = b'{"external_id":"CB-0","state":"resolved"}'
    header = callbacks.signature(SECRET, body)
    assert callbacks.signature_is_valid(SECRET, body, header)
    assert not callbacks.signature_is_valid("wrong-secret-0123456789", body, header)
    assert not callbacks.signature_is_valid(SECRET, body.replace(b"resolved", b"evaluated"), header)
    assert not callbacks.signature_is_valid(SECRET, body, None)


def test_after_the_last_try_the_result_waits_for_an_administrator_who_retries_it(
        app, client, db_session, receiver, login_as):
    platform = receiver([500] * callbacks.MAX_ATTEMPTS)
    set_callback(db_session, platform.url)
    resolved_hotline_orders(app, client, db_session, 2)

    now = T0
    for delay in (dt.timedelta(0), *callbacks.RETRY_DELAYS):
        now += delay
        assert deliver(db_session, now) == (0, 1)
    assert len(platform.calls) == callbacks.MAX_ATTEMPTS
    assert deliver(db_session, now + dt.timedelta(days=1)) == (0, 0)  # waits; CB-1 is held back
    assert {json.loads(body)["external_id"] for _, _, body in platform.calls} == {"CB-0"}

    admin = login_as("admin")
    listing = admin.get("/faileddeliveryview/list/")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "CB-0" in html and "CB-1" not in html and "HTTP 500" in html
    db_session.rollback()
    failed = db_session.scalar(select(FeedbackOutbox).where(FeedbackOutbox.failed_at.is_not(None)))
    admin.post("/faileddeliveryview/action_post", data={"action": "retry", "rowid": [failed.id],
                                                       "csrf_token": csrf_from(html)})
    assert "CB-0" not in admin.get("/faileddeliveryview/list/").get_data(as_text=True)

    assert deliver(db_session, now + dt.timedelta(days=1)) == (2, 0)
    assert [r["external_id"] for r in platform.accepted()] == ["CB-0", "CB-1"]


def test_failed_deliveries_and_callbacks_are_refused_to_other_roles(login_as, db_session):
    order = make_order(db_session, channel="hotline_12345", external_id="CB-9")
    waiting = FeedbackOutbox(order_id=order.id, channel="hotline_12345", external_id="CB-9", action="resolve",
                             state="resolved", payload={}, seq=1, attempts=6, failed_at=T0, last_error="HTTP 500")
    db_session.add(waiting)
    db_session.commit()
    for username in ("director1", "leader1", "manager1", "operator1"):
        client = login_as(username)
        for url in ("/faileddeliveryview/list/", "/channelcallbackview/list/", "/channelcallbackview/set"):
            assert client.get(url).status_code == 403, (username, url)
    leader = login_as("leader1")
    token = csrf_from(leader.get("/workorderview/list/").get_data(as_text=True))
    refused = leader.post("/faileddeliveryview/action_post",
                          data={"action": "retry", "rowid": [waiting.id], "csrf_token": token})
    assert refused.status_code == 403  # the action is not the leader's to take
    assert leader.post("/channelcallbackview/set", data={
        "channel": "hotline_12345", "url": "https://evil.example.com/", "csrf_token": token}).status_code == 403
    db_session.rollback()
    assert db_session.scalar(select(ChannelCallback)) is None
    assert db_session.get(FeedbackOutbox, waiting.id).failed_at == T0  # still waiting


def test_feedback_deliver_command_prints_delivered_and_failed(app, client, db_session, receiver):
    platform = receiver([502])
    set_callback(db_session, platform.url)
    resolved_hotline_orders(app, client, db_session, 2)
    runner = app.test_cli_runner()

    first = runner.invoke(args=["gridcare", "feedback", "deliver"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "delivered 0, failed 1"
    db_session.rollback()
    waiting = db_session.scalar(select(FeedbackOutbox).order_by(FeedbackOutbox.seq).limit(1))
    waiting.next_attempt_at = None  # its backoff is over
    db_session.commit()
    second = runner.invoke(args=["gridcare", "feedback", "deliver"])
    assert second.output.strip() == "delivered 2, failed 0"
    assert runner.invoke(args=["gridcare", "feedback", "deliver"]).output.strip() == "delivered 0, failed 0"
    assert [r["external_id"] for r in platform.accepted()] == ["CB-0", "CB-1"]


def test_delivery_is_a_default_job_that_runs_every_minute(app, db_session, receiver, client):
    from app.jobs import runner
    from app.jobs.scheduler import DEFAULT_JOBS, ensure_default_jobs

    assert ("feedback_delivery", "app.channels.callbacks.delivery_job", "* * * * *") in [
        job[:3] for job in DEFAULT_JOBS]
    platform = receiver()
    set_callback(db_session, platform.url)
    resolved_hotline_orders(app, client, db_session, 1)
    ensure_default_jobs(db_session)
    run = runner.execute(db_session, "feedback_delivery", scheduled_at=T0)
    assert run.outcome == "success" and run.counts == {"delivered": 1, "failed": 0}
    assert [r["external_id"] for r in platform.accepted()] == ["CB-0"]


# --- the callback screen -------------------------------------------------------------------
def _set_form(client, **fields):
    page = client.get("/channelcallbackview/set")
    assert page.status_code == 200
    return client.post("/channelcallbackview/set", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                         **fields}, follow_redirects=True)


def test_admin_sets_a_callback_in_the_browser_and_its_secret_is_shown_once(login_as, db_session):
    admin = login_as("admin")
    page = _set_form(admin, channel="hotline_12345", url="https://12345.example.gov.cn/gridcare", active="y")
    html = page.get_data(as_text=True)
    secret = re.search(r'id="new-callback-secret">([^<]+)<', html).group(1)
    db_session.rollback()
    stored = db_session.scalar(select(ChannelCallback))
    assert stored.channel == "hotline_12345" and stored.secret == secret and stored.active
    listing = admin.get("/channelcallbackview/list/").get_data(as_text=True)
    assert "12345.example.gov.cn" in listing and secret not in listing and "••••" + secret[-4:] in listing
    assert secret not in admin.get(f"/channelcallbackview/show/{stored.id}").get_data(as_text=True)
    from app.models.security import AuditEntry

    logged = db_session.scalar(select(AuditEntry).where(AuditEntry.entity == "channel_callback"))
    assert logged.username == "admin" and logged.changes["secret"] == "(secret)"
    assert secret not in json.dumps(logged.changes)

    # a change of URL keeps the secret and shows none
    page = _set_form(admin, channel="hotline_12345", url="https://12345.example.gov.cn/v2", active="y")
    assert 'id="new-callback-secret"' not in page.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(select(ChannelCallback.secret)) == secret
    assert db_session.scalar(select(ChannelCallback.url)) == "https://12345.example.gov.cn/v2"


def test_a_bad_callback_url_is_refused_naming_the_field(login_as, db_session):
    page = _set_form(login_as("admin"), channel="hotline_12345", url="ftp://example.com/x", active="y")
    assert page.status_code == 200 and "url must be an http:// or https:// address" in page.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(select(ChannelCallback)) is None
    with pytest.raises(callbacks.InvalidInput) as refused:
        callbacks.set_callback(db_session, "hotline_12345", "https://example.com/x", secret="short")
    assert refused.value.field == "secret"
    with pytest.raises(callbacks.InvalidInput) as refused:
        callbacks.set_callback(db_session, "convenience_point", "https://example.com/x")
    assert refused.value.field == "channel"


def test_in_queue_mode_the_core_posts_no_callback_itself(app, client, db_session, receiver, monkeypatch):
    from app.channels import settings as channel_settings
    from app.jobs import runner
    from app.jobs.scheduler import ensure_default_jobs

    platform = receiver()
    set_callback(db_session, platform.url)
    resolved_hotline_orders(app, client, db_session, 2)
    # The two zones: the core's network has no way out, the intake gateway delivers.
    monkeypatch.setattr(channel_settings.settings, "intake_mode", "queue")

    ensure_default_jobs(db_session)
    run = runner.execute(db_session, "feedback_delivery", scheduled_at=T0)
    assert run.outcome == "success" and run.counts == {"delivered": 0, "failed": 0, "by_gateway": 1}
    command = app.test_cli_runner().invoke(args=["gridcare", "feedback", "deliver"])
    assert command.exit_code == 0 and "the intake gateway delivers the callbacks" in command.output
    assert deliver(db_session, T0 + dt.timedelta(minutes=5)) == (0, 0)
    assert platform.calls == []
    db_session.rollback()
    assert [(e.attempts, e.delivered_at) for e in db_session.scalars(select(FeedbackOutbox))] == [(0, None)] * 2


def test_in_queue_mode_the_callback_screen_says_the_gateway_delivers(login_as, monkeypatch):
    from app.channels import settings as channel_settings

    admin = login_as("admin")
    assert 'id="delivered-by-gateway"' not in admin.get("/channelcallbackview/set").get_data(as_text=True)
    monkeypatch.setattr(channel_settings.settings, "intake_mode", "queue")
    page = admin.get("/channelcallbackview/set").get_data(as_text=True)
    assert "回调由互联网区的网关推送" in page
