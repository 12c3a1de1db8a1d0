"""Intake across zones (issue 20): platforms post to the gateway of the internet zone, which
keeps no core-database connection; RabbitMQ carries the demands to consumers of the internal
zone, which register each exactly once and send the order number back.  Every test runs the
real gateway and consumer processes against the real broker, under a prefix of its own."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pika
import pytest
from sqlalchemy import func, select

from app.channels import apikeys, callback_contract, callbacks
from app.gateway import broker
from app.models.workorder import WorkOrder
from tests import callback_receiver
from tests.conftest import csrf_from
from tests.gateway_helpers import (
    Consumer,
    Gateway,
    closed_port_url,
    demand,
    free_port,
    post_concurrently,
    unique_prefix,
    wait_for,
)

receiver = callback_receiver.receiver  # a platform's callback endpoint on loopback

# The figure, 2,000 demands with 20 % repeats, on the PostgreSQL pass (the internal
# zone's database in docs/deploy.md); the SQLite and MariaDB passes, which run beside it on the
# same two cores, post 500 through the same path.  GATEWAY_TEST_DEMANDS sets it by hand.
DEMANDS = int(os.environ.get("GATEWAY_TEST_DEMANDS",
                             "2000" if os.environ.get("GRIDCARE_TEST_DB") == "postgresql" else "500"))


@pytest.fixture
def prefix() -> Iterator[str]:
    name = unique_prefix()
    yield name
    broker.purge_all(broker.Topology(name))


@pytest.fixture
def key(db_session: Any) -> str:
    new = apikeys.create_key(db_session, "hotline_12345", name="12345 热线")
    db_session.commit()
    return new.plain


@pytest.fixture
def processes() -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for process in started:
        process.kill()


def _orders(db_session: Any, channel: str = "hotline_12345") -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.channel == channel))


def _up(tmp_path: Path, database_url: str, prefix: str, processes: list[Any],
        consumers: int = 1, amqp_url: str = broker.DEFAULT_AMQP_URL) -> tuple[Gateway, list[Consumer]]:
    gateway = Gateway(tmp_path, prefix, amqp_url)
    processes.append(gateway)
    started = []
    for n in range(consumers):
        consumer = Consumer(tmp_path, database_url, prefix, name=f"consumer{n}")
        processes.append(consumer)
        started.append(consumer)
    return gateway, started


def _wait_for_keys(gateway: Gateway, callbacks: int = 0) -> None:
    wait_for(lambda: gateway.status()["keys"] >= 1, 60, "the core to send the API keys to the gateway")
    wait_for(lambda: gateway.status()["callbacks"] >= callbacks, 60, "the core to send the callbacks")


CALLBACK_SECRET = "platform-callback-secret-0123456789"


def _set_callback(db_session: Any, channel: str, url: str, secret: str = CALLBACK_SECRET) -> None:
    callbacks.set_callback(db_session, channel, url, secret=secret)
    db_session.commit()


def _signed(platform: Any, secret: str = CALLBACK_SECRET) -> bool:
    return all(callback_contract.signature_is_valid(secret, body, headers["X-GridCare-Signature"])
               for _, headers, body in platform.calls)


def _demands(count: int, repeat_share: float = 0.2) -> list[dict[str, Any]]:
    unique = int(count * (1 - repeat_share))
    firsts = [demand(f"H12345-{n:05d}", n) for n in range(unique)]
    repeats = [dict(firsts[n % unique]) for n in range(count - unique)]
    return firsts + repeats


def test_demands_with_repeats_become_one_acknowledged_order_each_with_a_consumer_killed_midway(
        app, db_session, key, prefix, processes, tmp_path, receiver):
    platform = receiver()
    _set_callback(db_session, "hotline_12345", platform.url)
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    gateway, (first, _second) = _up(tmp_path, database_url, prefix, processes, consumers=2)
    _wait_for_keys(gateway, callbacks=1)
    demands = _demands(DEMANDS)
    unique = int(DEMANDS * 0.8)
    # While the platforms post, one consumer is killed (SIGKILL) mid-stream and started again.
    posted: list[Any] = []
    poster = threading.Thread(target=lambda: posted.extend(post_concurrently(gateway, key, demands, threads=8)))
    poster.start()
    wait_for(lambda: _orders(db_session) >= unique // 20, 300, "the consumers to be under way")
    first.kill()
    killed_at = _orders(db_session)
    processes.append(Consumer(tmp_path, database_url, prefix, name="consumer0-again"))
    poster.join()
    assert 0 < killed_at < unique  # killed mid-stream
    answers = posted

    receipts: dict[str, set[str]] = {}
    statuses: dict[str, list[int]] = {}
    for external_id, status, body in answers:
        receipts.setdefault(external_id, set()).add(body.get("receipt"))
        statuses.setdefault(external_id, []).append(status)
    assert len(statuses) == unique
    # Each demand: 202 the first time, 200 for every repeat, whichever thread came first.
    assert all(sorted(s) == [200] * (len(s) - 1) + [202] for s in statuses.values())
    assert all(len(ids) == 1 for ids in receipts.values())  # a repeat answers the same receipt

    wait_for(lambda: gateway.status()["registered"] == unique, 300, f"{unique} registrations")
    assert _orders(db_session) == unique
    numbers = {row.external_id: row.number for row in db_session.execute(
        select(WorkOrder.external_id, WorkOrder.number).where(WorkOrder.channel == "hotline_12345"))}
    acknowledged = {r["external_id"]: r["number"] for r in gateway.feedback(key) if r["action"] == "register"}
    assert acknowledged == numbers
    # ... and pushed to the platform's callback URL by the gateway: each once, in order, signed.
    wait_for(lambda: len(platform.accepted()) >= unique, 300, f"{unique} callbacks")
    pushed = platform.accepted()
    assert {r["external_id"]: r["number"] for r in pushed} == numbers
    assert len(pushed) == unique and [r["seq"] for r in pushed] == sorted({r["seq"] for r in pushed})
    assert _signed(platform)


def test_a_consumer_killed_mid_stream_and_started_again_loses_and_doubles_nothing(
        app, db_session, key, prefix, processes, tmp_path):
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    gateway, (consumer,) = _up(tmp_path, database_url, prefix, processes)
    _wait_for_keys(gateway)
    count = 300
    post_concurrently(gateway, key, _demands(count, 0.2), threads=8)
    unique = int(count * 0.8)
    wait_for(lambda: _orders(db_session) >= 20, 120, "the consumer to be under way")
    consumer.kill()
    between = _orders(db_session)
    assert 0 < between < unique  # killed mid-stream
    processes.append(Consumer(tmp_path, database_url, prefix, name="consumer-again"))
    wait_for(lambda: gateway.status()["registered"] == unique, 180, "every registration")
    assert _orders(db_session) == unique
    assert len({r["external_id"] for r in gateway.feedback(key) if r["action"] == "register"}) == unique


def test_a_gateway_killed_between_storing_and_publishing_publishes_when_started_again(
        app, db_session, key, prefix, processes, tmp_path):
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    gateway, _ = _up(tmp_path, database_url, prefix, processes)
    _wait_for_keys(gateway)
    gateway.kill()
    gateway.start(closed_port_url())  # stores, cannot publish
    status, body = gateway.post(key, demand("H12345-KILL-1", 1))
    assert status == 202 and body["status"] == "accepted"
    assert gateway.status()["unpublished"] == 1
    gateway.kill()
    time.sleep(1)
    assert _orders(db_session) == 0
    gateway.start()
    wait_for(lambda: gateway.status()["registered"] == 1, 60, "the stored demand to be registered")
    assert _orders(db_session) == 1


class _Proxy:
    """A TCP forwarder to the broker that can be cut and restored: the broker 'unreachable'
    for the gateway while it keeps running."""

    def __init__(self, target_port: int = 5672) -> None:
        self.port, self.target = free_port(), target_port
        self.listener: socket.socket | None = None
        self.sockets: list[socket.socket] = []

    def up(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def down(self) -> None:
        assert self.listener is not None
        self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass


def test_with_the_broker_unreachable_the_gateway_accepts_demands_and_publishes_them_when_it_is_back(
        app, db_session, key, prefix, processes, tmp_path):
    proxy = _Proxy()
    proxy.up()
    gateway, _ = _up(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], prefix, processes,
                     amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
    _wait_for_keys(gateway)
    proxy.down()
    statuses = [gateway.post(key, demand(f"H12345-OUT-{n}", n))[0] for n in range(5)]
    assert statuses == [202] * 5
    time.sleep(2)
    assert gateway.status()["unpublished"] == 5
    assert _orders(db_session) == 0
    proxy.up()
    wait_for(lambda: gateway.status()["registered"] == 5, 90, "the demands to be registered")
    assert _orders(db_session) == 5
    proxy.down()


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def test_gateway_and_consumer_run_with_their_own_databases_and_the_gateway_has_no_core_url(
        app, db_session, key, prefix, processes, tmp_path):
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    gateway, (consumer,) = _up(tmp_path, database_url, prefix, processes)
    _wait_for_keys(gateway)
    status, _ = gateway.post(key, demand("H12345-ZONE-1", 7))
    assert status == 202
    wait_for(lambda: gateway.status()["registered"] == 1, 60, "the registration")

    gateway_env = _environ(gateway.process.pid)
    consumer_env = _environ(consumer.process.pid)
    assert "DATABASE_URL" not in gateway_env
    assert database_url not in "\0".join(gateway_env.values())
    assert gateway_env["GATEWAY_DATABASE_URL"] == f"sqlite:///{tmp_path / 'gateway.db'}"
    assert consumer_env["DATABASE_URL"] == database_url
    # Nothing the gateway holds open is the core database: no file of it, no socket to its server.
    opened = {os.path.realpath(f"/proc/{gateway.process.pid}/fd/{fd}")
              for fd in os.listdir(f"/proc/{gateway.process.pid}/fd")}
    assert str(tmp_path / "gateway.db") in opened
    if database_url.startswith("sqlite"):
        assert database_url.split("///", 1)[1] not in opened
    else:
        assert not _connects_to_port(gateway.process.pid, 5432 if "postgresql" in database_url else 3306)
    assert _orders(db_session) == 1


def _connects_to_port(pid: int, port: int) -> bool:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:  # closed meanwhile (the gateway's threads open and close sockets)
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes and int(fields[2].split(":")[1], 16) == port:
                return True
    return False


def test_a_malformed_message_is_dead_lettered_shown_and_registered_once_after_a_fix(
        app, db_session, key, prefix, processes, tmp_path, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "AMQP_PREFIX", prefix)
    _gateway, _ = _up(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], prefix, processes)
    names = broker.Topology(prefix)
    # A message as a gateway of another version might send it: the phone is not a phone.
    bad = {"receipt": "r-malformed-1", "channel": "hotline_12345", "key_prefix": key.split("_")[1],
           "external_id": "H12345-BAD-1", "demand": {**demand("H12345-BAD-1", 3), "phone": "电话待补"}}
    connection = broker.connect()
    channel = broker.open_channel(connection, names)
    broker.publish(channel, names.intake, "demand", bad, message_id="r-malformed-1")
    connection.close()

    admin = login_as("admin")

    def listed() -> bool:
        return "r-malformed-1" in admin.get("/deadletters/list").get_data(as_text=True)

    wait_for(listed, 60, "the dead letter on the screen")
    page = admin.get("/deadletters/show?key=r-malformed-1").get_data(as_text=True)
    assert "phone is not a valid mobile" in page
    assert _orders(db_session) == 0

    fixed = {**bad, "demand": {**bad["demand"], "phone": "13800000003"}}
    answer = admin.post("/deadletters/replay", data={"csrf_token": csrf_from(page), "key": "r-malformed-1",
                                                     "body": json.dumps(fixed, ensure_ascii=False)})
    assert answer.status_code == 302
    wait_for(lambda: _orders(db_session) == 1, 60, "the replayed demand to be registered")
    # A second replay finds no dead letter left: still one order.
    again = admin.post("/deadletters/replay", data={"csrf_token": csrf_from(page), "key": "r-malformed-1",
                                                    "body": json.dumps(fixed, ensure_ascii=False)},
                       follow_redirects=True)
    assert "没有这条死信" in again.get_data(as_text=True)  # "No such dead letter" on the zh screen
    time.sleep(2)
    assert _orders(db_session) == 1
    assert "r-malformed-1" not in admin.get("/deadletters/list").get_data(as_text=True)


def test_the_dead_letter_screen_is_for_administrators_only(app, login_as):
    assert login_as("leader1").get("/deadletters/list").status_code == 403


def test_the_gateway_keeps_the_intake_contract(app, db_session, key, prefix, processes, tmp_path):
    gateway, _ = _up(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], prefix, processes)
    _wait_for_keys(gateway)
    assert gateway.post(None, demand("H12345-C-1"))[0] == 401
    assert gateway.post(key, demand("H12345-C-1"), channel="three_services")[0] == 401
    status, body = gateway.post(key, {**demand("H12345-C-1"), "demand_type": "gossip"})
    assert (status, body["field"]) == (400, "demand_type")
    status, body = gateway.post(key, {**demand("H12345-C-1"), "phone": "12"})
    assert (status, body["field"]) == (400, "phone")
    first = gateway.post(key, demand("H12345-C-1", 1))
    assert first[0] == 202
    status, body = gateway.post(key, {**demand("H12345-C-1", 1), "content": "另一件事"})
    assert (status, body["field"]) == (409, "external_id")
    wait_for(lambda: gateway.status()["registered"] == 1, 60, "the registration")
    status, receipt = gateway.post(key, demand("H12345-C-1", 1))
    assert status == 200 and receipt["receipt"] == first[1]["receipt"]
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder).where(WorkOrder.external_id == "H12345-C-1"))
    assert (receipt["status"], receipt["number"]) == ("registered", order.number)


def test_in_queue_mode_the_core_takes_no_direct_intake(app, client, key, monkeypatch):
    monkeypatch.setitem(app.config, "INTAKE_MODE", "queue")
    answer = client.post("/api/v1/intake/hotline_12345", json=demand("H12345-D-1"),
                         headers={"X-API-Key": key})
    assert answer.status_code == 404
    assert "gateway" in answer.get_json()["message"]


def test_results_of_an_order_reach_the_platform_through_the_gateway(app, db_session, key, prefix,
                                                                      processes, tmp_path):
    from tests.factories import advance, make_customer

    customer = make_customer(db_session, "ST001-G01")
    db_session.commit()
    gateway, _ = _up(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], prefix, processes)
    _wait_for_keys(gateway)
    gateway.post(key, {**demand("H12345-R-1", 5), "customer_no": customer.customer_no})
    wait_for(lambda: gateway.status()["registered"] == 1, 60, "the registration")
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder).where(WorkOrder.external_id == "H12345-R-1"))
    with app.app_context():  # the application's session: its writes begin IMMEDIATE on SQLite
        from app.extensions import db

        advance(db.session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已答复客户"}))

    def resolved() -> bool:
        return any(r["action"] == "resolve" for r in gateway.feedback(key))

    wait_for(resolved, 60, "the result at the gateway")
    result = next(r for r in gateway.feedback(key) if r["action"] == "resolve")
    assert (result["number"], result["state"], result["resolution"]) == (order.number, "resolved", "已答复客户")


def test_each_platform_receives_its_order_number_and_then_its_results_at_its_callback_url(
        app, db_session, key, prefix, processes, tmp_path, receiver):
    from tests.factories import advance, make_customer

    customer = make_customer(db_session, "ST001-G01")
    other_key = apikeys.create_key(db_session, "three_services", name="三为服务").plain
    db_session.commit()
    hotline, three_services = receiver(), receiver([503])  # the second platform fails once
    _set_callback(db_session, "hotline_12345", hotline.url)
    _set_callback(db_session, "three_services", three_services.url, secret="three-services-secret-0123456789")
    gateway, _ = _up(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], prefix, processes)
    _wait_for_keys(gateway, callbacks=2)
    assert gateway.post(key, {**demand("H12345-CB-1", 5), "customer_no": customer.customer_no})[0] == 202
    assert gateway.post(other_key, demand("TS-CB-1", 6), channel="three_services")[0] == 202

    wait_for(lambda: len(hotline.accepted()) == 1, 60, "the hotline's order number at its callback")
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder).where(WorkOrder.external_id == "H12345-CB-1"))
    other = db_session.scalar(select(WorkOrder).where(WorkOrder.external_id == "TS-CB-1"))
    assert [(r["action"], r["external_id"], r["number"]) for r in hotline.accepted()] == [
        ("register", "H12345-CB-1", order.number)]
    with app.app_context():  # a state change in the core, later
        from app.extensions import db

        advance(db.session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已答复客户"}))
    wait_for(lambda: len(hotline.accepted()) == 2, 60, "the result at the hotline's callback")
    result = hotline.accepted()[1]
    assert (result["action"], result["number"], result["state"], result["resolution"]) == (
        "resolve", order.number, "resolved", "已答复客户")
    assert _signed(hotline)

    # The other platform: its own order only, after one failed try (retried a minute later, so
    # it is still waiting here), with its own secret.
    assert gateway.status()["delivered"] == 2
    assert [json.loads(body)["external_id"] for _, _, body in three_services.calls] == ["TS-CB-1"]
    assert _signed(three_services, "three-services-secret-0123456789")
    assert other.number not in {r["number"] for r in hotline.accepted()}


def test_a_published_intake_message_is_persistent(prefix):
    # The gateway's messages survive a broker restart: persistent, on a durable quorum queue.
    names = broker.Topology(prefix)
    connection = broker.connect()
    channel = broker.open_channel(connection, names)
    broker.publish(channel, names.intake, "demand", {"x": 1}, message_id="m1")
    method, props, _body = channel.basic_get(names.intake, auto_ack=True)
    connection.close()
    assert props.delivery_mode == pika.DeliveryMode.Persistent.value
    assert method is not None


def test_the_public_request_form_on_the_gateway_registers_the_request_once(
        app, db_session, key, prefix, processes, tmp_path):
    import re

    import requests

    gateway, _ = _up(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"], prefix, processes)
    _wait_for_keys(gateway)
    browser = requests.Session()
    form_page = browser.get(gateway.url + "/public/request")
    assert 'value="ST001"' in form_page.text  # the stations came from the core
    token = re.search(r'name="csrf_token" value="([^"]+)"', form_page.text).group(1)
    fields = {"csrf_token": token, "contact_name": "李女士", "phone": "13900001234",
              "customer_no": "", "address": "城关镇 2 号", "station": "ST001", "content": "申请上门检查线路"}
    refused = browser.post(gateway.url + "/public/request", data={**fields, "phone": "123"})
    assert refused.status_code == 400 and 'data-field="phone"' in refused.text
    forged = requests.post(gateway.url + "/public/request", data=fields)  # no CSRF cookie
    assert forged.status_code == 400 and 'data-field="csrf_token"' in forged.text
    answer = browser.post(gateway.url + "/public/request", data=fields)
    assert answer.status_code == 200
    receipt = re.search(r"<strong>([0-9a-f-]{36})</strong>", answer.text).group(1)
    wait_for(lambda: gateway.status()["registered"] == 1, 60, "the request to be registered")
    db_session.rollback()
    orders = db_session.scalars(select(WorkOrder).where(WorkOrder.channel == "online_nonfault")).all()
    assert [(o.external_id, o.phone, o.content) for o in orders] == [(receipt, "13900001234", "申请上门检查线路")]
