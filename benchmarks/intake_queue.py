"""Intake across zones: orders/s from the platform's POST to the committed order, through the
gateway (its SQLite outbox) → RabbitMQ (publisher confirms) → 1, 2 and 4 consumers on
PostgreSQL, beside direct HTTP intake (gunicorn on the core) with the same demands and
clients, measured in the same run.  ``BENCH_ONLY=intake_queue`` runs this alone;
``BENCH_QUEUE_DEMANDS`` (600) demands per measurement."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from benchmarks.common import Context, GunicornServer, demand, free_port, prepare_intake

ROOT = Path(__file__).resolve().parent.parent
DEMANDS = int(os.environ.get("BENCH_QUEUE_DEMANDS", "600"))
CLIENTS = int(os.environ.get("BENCH_INTAKE_CLIENTS", "8"))
CONSUMERS = tuple(int(n) for n in os.environ.get("BENCH_QUEUE_CONSUMERS", "1,2,4").split(","))


def _post_all(url: str, key: str, demands: list[dict]) -> tuple[float, int]:
    import requests

    queue, lock, errors = list(demands), threading.Lock(), [0]

    def client() -> None:
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            answer = session.post(url, json=item, headers={"X-API-Key": key}, timeout=60)
            if answer.status_code not in (200, 201, 202):
                with lock:
                    errors[0] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, errors[0]


def _status(url: str) -> dict:
    with urllib.request.urlopen(url + "/gateway/status", timeout=10) as answer:
        return json.loads(answer.read())


def _wait(condition, seconds: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {seconds}s")


def run(ctx: Context) -> None:
    key = prepare_intake(ctx.app)
    section = "Intake across zones (gateway → RabbitMQ → consumers, PostgreSQL)"
    tag = uuid.uuid4().hex[:6]
    with GunicornServer(ctx.database_url) as server:
        _post_all(f"{server.url}/api/v1/intake/hotline_12345", key, [demand(n, f"warm{tag}") for n in range(50)])
        seconds, errors = _post_all(f"{server.url}/api/v1/intake/hotline_12345", key,
                                    [demand(n, f"direct{tag}") for n in range(DEMANDS)])
        workers = server.workers
    direct = DEMANDS / seconds
    ctx.add(section, "direct HTTP intake (the core's API)", round(direct, 1), "orders/s",
            "errors: must be", 0, verdict="pass" if errors == 0 else "FAIL",
            note=f"gunicorn {workers} workers, {CLIENTS} clients, {DEMANDS} demands, {errors} errors; "
                 f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    prefix = f"gcbench.{tag}"
    workdir = Path(tempfile.mkdtemp(prefix="gridcare-bench-queue-"))
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(GATEWAY_DATABASE_URL=f"sqlite:///{workdir / 'gateway.db'}", AMQP_PREFIX=prefix,
               LOG_LEVEL="WARNING")
    port = free_port()
    gateway = subprocess.Popen([sys.executable, "-m", "app.gateway", "--port", str(port)], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    consumer_env = dict(os.environ, DATABASE_URL=ctx.database_url, AMQP_PREFIX=prefix,
                        INTAKE_KEY_SYNC_SECONDS="1", LOG_LEVEL="WARNING")
    flask = str(Path(sys.executable).with_name("flask"))
    try:
        _wait(lambda: _reachable(url), 60)
        registered = 0
        for count in CONSUMERS:
            consumers = [subprocess.Popen([flask, "--app", "app", "gridcare", "consume"], cwd=ROOT,
                                          env=consumer_env) for _ in range(count)]
            try:
                _wait(lambda: _status(url)["keys"] >= 1, 60)
                time.sleep(2)  # every consumer connected
                demands = [demand(n, f"q{count}{tag}") for n in range(DEMANDS)]
                started = time.perf_counter()
                accept_seconds, errors = _post_all(f"{url}/api/v1/intake/hotline_12345", key, demands)
                target = registered + DEMANDS
                _wait(lambda: _status(url)["registered"] >= target, 600)
                seconds = time.perf_counter() - started
                registered = target
            finally:
                for process in consumers:
                    process.terminate()
                for process in consumers:
                    process.wait(30)
            ctx.add(section, f"gateway → RabbitMQ → {count} consumer{'s' if count > 1 else ''}",
                    # No throughput goal: the verdict is on errors (must be 0); direct intake of
                    # the same run stands in the note for comparison.
                    round(DEMANDS / seconds, 1), "orders/s", "errors: must be", 0,
                    verdict="pass" if errors == 0 else "FAIL",
                    note=f"{errors} errors; direct HTTP intake in this run: {direct:.1f} orders/s; "
                         f"POST to order number back at the gateway; gateway accepted "
                         f"{DEMANDS / accept_seconds:.0f} demands/s (202)")
    finally:
        gateway.terminate()
        gateway.wait(30)
        from app.gateway import broker

        broker.purge_all(broker.Topology(prefix))


def _reachable(url: str) -> bool:
    try:
        _status(url)
        return True
    except OSError:
        return False
