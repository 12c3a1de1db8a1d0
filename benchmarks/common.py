"""Shared pieces of the benchmarks: a PostgreSQL database of their own, the application on
it, timing helpers and a description of the machine."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://127.0.0.1:5432/test")
FULL = os.environ.get("BENCH_SCALE", "small") == "full"


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


def create_pg_database() -> tuple[str, Callable[[], None]]:
    import psycopg

    name = f"gridcare_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", drop


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
