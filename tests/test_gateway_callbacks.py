"""Callback delivery from the intake gateway (queue mode, issue 20): the gateway POSTs the
results the core sent back to each channel's callback URL with the core's contract (the
body, the signature, the retry schedule, an administrator's retry), from its own store and
without the core database.  These tests feed the gateway's store the messages the core
sends and let a real loopback platform answer; test_gateway_queue.py runs the whole way
through RabbitMQ."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.channels import callback_contract
from app.gateway import delivery, store
from tests import callback_receiver

receiver = callback_receiver.receiver  # the loopback platform
T0 = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)
SECRET = "gateway-callback-secret-0123456789"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(tmp_path: Path) -> Any:
    made = store.make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    yield made
    made.dispose()


def callbacks_message(url: str, generated_at: str = "2026-11-30T01:00:00+00:00", active: bool = True,
                      channel: str = "hotline_12345", secret: str = SECRET) -> dict[str, Any]:
    return {"type": "callbacks", "generated_at": generated_at,
            "callbacks": [{"channel": channel, "url": url, "secret": secret, "active": active,
                           "updated_at": generated_at}]}


def registered(n: int, channel: str = "hotline_12345") -> dict[str, Any]:
    return {"type": "registered", "channel": channel, "external_id": f"CB-{n}", "receipt": f"r-{n}",
            "id": 100 + n, "number": f"GD20261130{n:04d}", "state": "registered", "deadline": None,
            "registered_at": "2026-11-30T01:00:00+00:00", "created": True}


def resolved(n: int, core_seq: int) -> dict[str, Any]:
    return {"type": "result", "channel": "hotline_12345", "result": {
        "id": 100 + n, "number": f"GD20261130{n:04d}", "external_id": f"CB-{n}", "state": "resolved",
        "resolution": "已处理", "resolved_at": "2026-11-30T02:00:00+00:00", "timely": True,
        "evaluation": None, "action": "resolve", "seq": core_seq, "changed_at": "2026-11-30T02:00:00+00:00"}}


def run(engine: Any, now: dt.datetime) -> tuple[int, int]:
    report = delivery.deliver(engine, now)
    return report.delivered, report.failed


def test_the_gateway_posts_each_result_once_in_order_signed_backing_off_like_the_core(engine, receiver):
    platform = receiver([500, 503])
    store.apply_message(engine, callbacks_message(platform.url))
    for n in range(3):
        store.apply_message(engine, registered(n))
    store.apply_message(engine, resolved(0, core_seq=41))
    store.apply_message(engine, resolved(0, core_seq=41))  # the shovel delivered it twice: stored once

    assert run(engine, T0) == (0, 1)
    assert run(engine, T0 + dt.timedelta(seconds=30)) == (0, 0)  # waits out the backoff
    assert run(engine, T0 + dt.timedelta(minutes=1)) == (0, 1)
    assert run(engine, T0 + dt.timedelta(minutes=5)) == (0, 0)
    assert run(engine, T0 + dt.timedelta(minutes=6)) == (4, 0)
    assert run(engine, T0 + dt.timedelta(minutes=7)) == (0, 0)

    # the failing first result held the others back; then each once, in the gateway's order
    sent = [(r["external_id"], r["action"]) for r in (json.loads(b) for _, _, b in platform.calls)]
    assert sent == [("CB-0", "register")] * 3 + [("CB-1", "register"), ("CB-2", "register"), ("CB-0", "resolve")]
    accepted = platform.accepted()
    assert [r["number"] for r in accepted[:3]] == ["GD202611300000", "GD202611300001", "GD202611300002"]
    # the same objects as the gateway's feedback endpoint gives, signed as the core signs
    assert accepted == store.feedback_page(engine, "hotline_12345", 0, 500)[0]
    for _, headers, body in platform.calls:
        assert callback_contract.signature_is_valid(SECRET, body, headers["X-GridCare-Signature"])
        assert headers["Content-Type"] == "application/json; charset=utf-8"
        assert body == callback_contract.encode(json.loads(body))
    assert store.counts(engine)["delivered"] == 4


def test_results_held_before_the_gateway_learned_of_the_callback_are_for_the_feedback_endpoint(
        engine, receiver):
    platform, moved = receiver(), receiver()
    store.apply_message(engine, registered(0))
    store.apply_message(engine, callbacks_message(platform.url))
    store.apply_message(engine, registered(1))
    assert run(engine, T0) == (1, 0)
    assert [r["external_id"] for r in platform.accepted()] == ["CB-1"]

    # A new URL keeps the place in the delivery; an older snapshot arriving late changes nothing.
    store.apply_message(engine, callbacks_message(moved.url, generated_at="2026-11-30T01:05:00+00:00"))
    store.apply_message(engine, callbacks_message(platform.url, generated_at="2026-11-30T01:02:00+00:00"))
    store.apply_message(engine, registered(2))
    assert run(engine, T0) == (1, 0)
    assert [r["external_id"] for r in moved.accepted()] == ["CB-2"]

    # A callback the core no longer has, or has switched off, is not called.
    store.apply_message(engine, {"type": "callbacks", "generated_at": "2026-11-30T01:10:00+00:00",
                                 "callbacks": []})
    store.apply_message(engine, registered(3))
    assert run(engine, T0) == (0, 0)
    assert len(platform.calls) == 1 and len(moved.calls) == 1
    assert store.counts(engine)["callbacks"] == 0


def test_after_the_last_try_the_result_waits_until_the_deliver_command_retries_it(engine, receiver, tmp_path):
    platform = receiver([500] * callback_contract.MAX_ATTEMPTS)
    store.apply_message(engine, callbacks_message(platform.url))
    store.apply_message(engine, registered(0))
    store.apply_message(engine, registered(1))
    now = T0
    for delay in (dt.timedelta(0), *callback_contract.RETRY_DELAYS):
        now += delay
        assert run(engine, now) == (0, 1)
    assert run(engine, now + dt.timedelta(days=1)) == (0, 0)  # waits; CB-1 is held back
    assert store.counts(engine)["delivery_failed"] == 1
    assert {json.loads(b)["external_id"] for _, _, b in platform.calls} == {"CB-0"}

    # The gateway's command, as an administrator runs it: a process without the core database.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path / 'gateway.db'}", LOG_LEVEL="WARNING")
    once = subprocess.run([sys.executable, "-m", "app.gateway", "deliver"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert once.stdout.strip() == "delivered 0, failed 0", once.stderr
    again = subprocess.run([sys.executable, "-m", "app.gateway", "deliver", "--retry-failed"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.stdout.splitlines() == ["put back in line: 1", "delivered 2, failed 0"], again.stderr
    assert [r["external_id"] for r in platform.accepted()] == ["CB-0", "CB-1"]
    assert store.counts(engine)["delivery_failed"] == 0
