"""Real processes for the intake-across-zones tests: the gateway (internet zone, its own
SQLite outbox, no core database) and consumers (internal zone, the test's core database),
both talking to the RabbitMQ at 127.0.0.1:5672 under a prefix of the test's own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_port_url() -> str:
    """An AMQP URL where nothing listens (the broker 'unreachable')."""
    return f"amqp://guest:guest@127.0.0.1:{free_port()}/"


class Gateway:
    def __init__(self, workdir: Path, prefix: str, amqp_url: str = AMQP_URL) -> None:
        self.workdir, self.prefix = workdir, prefix
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start(amqp_url)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, amqp_url: str = AMQP_URL) -> None:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update(GATEWAY_DATABASE_URL=f"sqlite:///{self.workdir / 'gateway.db'}",
                   AMQP_URL=amqp_url, AMQP_PREFIX=self.prefix, LOG_LEVEL="WARNING")
        log = open(self.workdir / "gateway.log", "ab")
        self.process = subprocess.Popen([FLASK, "--app", "app", "gridcare", "gateway", "--port",
                                         str(self.port)], cwd=ROOT, env=env, stdout=log,
                                        stderr=subprocess.STDOUT)
        wait_for(lambda: self._answers(), 60, "the gateway to listen")

    def _answers(self) -> bool:
        try:
            self.status()
            return True
        except OSError:
            return False

    def status(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "/gateway/status", timeout=5) as answer:
            return json.loads(answer.read())

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def post(self, key: str, demand: dict[str, Any], channel: str = "hotline_12345") -> tuple[int, dict]:
        return http("POST", f"{self.url}/api/v1/intake/{channel}", key, demand)

    def feedback(self, key: str, channel: str = "hotline_12345") -> list[dict[str, Any]]:
        results, after = [], 0
        while True:
            status, page = http("GET", f"{self.url}/api/v1/intake/{channel}/feedback?after={after}", key)
            assert status == 200, page
            results += page["result"]
            if not page["result"]:
                return results
            after = page["cursor"]


class Consumer:
    def __init__(self, workdir: Path, database_url: str, prefix: str, name: str = "consumer") -> None:
        env = dict(os.environ)
        env.update(DATABASE_URL=database_url, AMQP_URL=AMQP_URL, AMQP_PREFIX=prefix,
                   INTAKE_KEY_SYNC_SECONDS="1", SCHEDULER_ENABLED="0", LOG_LEVEL="WARNING")
        env.pop("GATEWAY_DATABASE_URL", None)
        log = open(workdir / f"{name}.log", "ab")
        self.process = subprocess.Popen([FLASK, "--app", "app", "gridcare", "consume"], cwd=ROOT,
                                        env=env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)


def http(method: str, url: str, key: str | None, body: Any = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def demand(external_id: str, n: int = 0) -> dict[str, Any]:
    return {"external_id": external_id, "demand_type": "consultation",
            "content": f"电费咨询 {external_id}", "contact_name": "张先生",
            "phone": f"138{n % 100000000:08d}", "address": "城关镇 1 号",
            "received_at": "2026-11-28T09:30:00+08:00"}


def post_concurrently(gateway: Gateway, key: str, demands: list[dict[str, Any]],
                      threads: int = 8) -> list[tuple[str, int, dict]]:
    answers: list[tuple[str, int, dict]] = []
    lock = threading.Lock()
    queue = list(demands)

    def work() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            status, body = gateway.post(key, item)
            with lock:
                answers.append((item["external_id"], status, body))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def unique_prefix() -> str:
    return f"gctest.{uuid.uuid4().hex[:10]}"
