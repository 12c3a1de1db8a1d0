"""Shared pieces of the benchmarks: a PostgreSQL database of their own, the application on
it, timing helpers and a description of the machine."""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://127.0.0.1:5432/test")
FULL = os.environ.get("BENCH_SCALE", "small") == "full"
# What a benchmark's app and servers sign sessions and tokens with, unless SECRET_KEY is set:
# 32 random bytes of this run (config.py refuses shorter keys).
BENCH_SECRET_KEY = secrets.token_hex(32)


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    limit_name: str = ""
    limit_value: float | None = None
    verdict: str = ""
    note: str = ""
    goal: str = ""


@dataclass
class Context:
    database_url: str = ""
    app: Any = None
    figures: list[Figure] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)

    def add(self, *args: Any, **kwargs: Any) -> Figure:
        figure = Figure(*args, **kwargs)
        self.figures.append(figure)
        print(f"  {figure.section} · {figure.name}: {figure.value:g} {figure.unit}"
              + (f"  (limit {figure.limit_name}: {figure.limit_value:g})" if figure.limit_value is not None else ""))
        return figure


    def against(self, section: str, name: str, value: float, unit: str, *, goal: str, ok: bool,
                limit_name: str = "", limit_value: float | None = None, note: str = "") -> Figure:
        """A figure with a goal: the goal is stated beside it and the verdict follows from it —
        "pass" or "FAIL", never left blank."""
        figure = self.add(section, name, value, unit, limit_name, limit_value,
                          verdict="pass" if ok else "FAIL", note=note, goal=goal)
        if not ok:
            print(f"  FAIL: {section} · {name}: {value:g} {unit} — goal {goal}")
        return figure

    def failed_goals(self) -> list[Figure]:
        return [f for f in self.figures if f.verdict == "FAIL"]


def at_least(value: float, reference: float, factor: float = 1.0) -> bool:
    """``value ≥ factor × reference`` (a throughput beside its ceiling)."""
    return value >= factor * reference


def at_most(value: float, reference: float, factor: float = 1.0) -> bool:
    """``value ≤ factor × reference`` (a time beside its floor)."""
    return value <= factor * reference


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def timed(fn: Callable[[], Any], repeat: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def create_pg_database(template: str | None = None, name: str | None = None) -> tuple[str, Callable[[], None]]:
    """A database of this run's own (dropped by the returned function); ``template``: a copy
    of a database seeded once by ``python -m benchmarks.template``."""
    import psycopg

    name = name or f"gridcare_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", drop


def baseline(app: Any) -> None:
    """The schema at the migrations' head, the roles of the access matrix, the demo
    organisation and staff: what every benchmark database starts from (inside an app context)."""
    from flask_migrate import upgrade

    from app.extensions import appbuilder, db
    from app.security.access import sync_roles
    from app.seed import seed_organisation, seed_staff

    upgrade(directory=app.extensions["migrate"].directory, revision="heads")
    sync_roles(appbuilder)
    seed_organisation(db.session)
    seed_staff(appbuilder, db.session, "GridCare#2026")
    db.session.commit()


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) // 1024 // 1024} GiB"
                break
    except OSError:
        pass
    pg = ""
    try:
        pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": memory,
            "os": platform.platform(), "python": platform.python_version(), "postgresql": pg}


# --- a real server: gunicorn on loopback with the production configuration ---------------
ROOT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class GunicornServer:
    """``gunicorn -c gunicorn.conf.py benchmarks.wsgi_bench:app`` on a free loopback port, on
    the benchmark's PostgreSQL database, rate limits in Redis (REDIS_URL)."""

    def __init__(self, database_url: str, workers: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers or (os.cpu_count() or 1) * 2 + 1
        self.database_url = database_url
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "GunicornServer":
        import sys
        import urllib.request

        env = dict(os.environ, DATABASE_URL=self.database_url, GUNICORN_BIND=f"127.0.0.1:{self.port}",
                   GUNICORN_WORKERS=str(self.workers), GUNICORN_ACCESS_LOG="/dev/null",
                   GUNICORN_LOG_LEVEL="warning", SCHEDULER_ENABLED="0", LOG_LEVEL="WARNING",
                   SECRET_KEY=os.environ.get("SECRET_KEY") or BENCH_SECRET_KEY,
                   REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
                   ALLOWED_HOSTS="127.0.0.1,localhost", PERMISSION_CACHE_SECONDS="30")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "benchmarks.wsgi_bench:app"],
            cwd=ROOT_DIR, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.url + "/_bench/bare", timeout=2).read()
                self._wait_for_every_worker(deadline)
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited while starting")
                time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer within 120 s")

    def _wait_for_every_worker(self, deadline: float) -> None:
        """Until every worker has answered once: a worker still loading the application
        would spend the first seconds of a measurement on its own start."""
        import json
        import urllib.request
        from concurrent.futures import ThreadPoolExecutor

        def worker_of(_: int) -> int:
            return json.loads(urllib.request.urlopen(self.url + "/_bench/bare", timeout=10).read())["worker"]

        seen: set[int] = set()
        with ThreadPoolExecutor(self.workers * 2) as pool:
            while len(seen) < self.workers and time.time() < deadline:
                seen.update(pool.map(worker_of, range(self.workers * 4)))
                time.sleep(0.2)

    def __exit__(self, *exc: Any) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def prepare_intake(app: Any) -> str:
    """An API key of the 12345 hotline and the 50 routing rules of the rules benchmark, active."""
    from app.channels import apikeys
    from app.extensions import db
    from app.rules import store

    with app.app_context():
        plain = apikeys.create_key(db.session, "hotline_12345", name="benchmark").plain
        if store.find_rule_set(db.session, "routing", "bench-50") is None:
            store.save_rule_set(db.session, domain="routing", name="bench-50", rules=routing_rules(),
                                author="bench", active=True)
        db.session.commit()
    return plain


def routing_rules() -> list[dict]:
    channels = ["hotline_12345", "three_services", "grassroots_grid", "convenience_point", "oa_demand"]
    types = ["complaint", "consultation", "report", "urgent", "service"]
    rules = []
    for i in range(50):
        conditions = [{"name": "channel", "operator": "contains", "value": channels[i % 5]},
                      {"name": "demand_type", "operator": "contains", "value": types[(i // 5) % 5]}]
        if i % 3 == 0:
            conditions.append({"name": "content", "operator": "contains", "value": f"关键词{i}"})
        actions = [{"name": "set_priority", "params": {"priority": "high"}}]
        if i % 7 == 0:
            actions.append({"name": "set_deadline_working_days", "params": {"days": 1 + i % 3}})
        rules.append({"name": f"bench-{i:02d}", "conditions": {"all": conditions}, "actions": actions})
    return rules


def demand(n: int, tag: str) -> dict:
    types = ["complaint", "consultation", "report", "urgent", "service"]
    return {"external_id": f"{tag}-{n}", "demand_type": types[n % 5], "content": f"关键词{n % 50} 用户反映电压偏低",
            "contact_name": "张先生", "phone": f"139{n % 99991:08d}",
            "received_at": time.strftime("%Y-%m-%dT%H:%M:%S+08:00")}
