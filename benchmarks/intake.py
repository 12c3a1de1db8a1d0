"""Intake throughput end to end through HTTP: ``POST /api/v1/intake/hotline_12345`` with an
API key and 50 active routing rules, on gunicorn with PostgreSQL over loopback, beside a bare
Flask endpoint answered by the same server (the ceiling)."""

from __future__ import annotations

import os
import threading
import time
import uuid

from benchmarks.common import Context, GunicornServer, at_least, demand, percentile, prepare_intake
from benchmarks.cpu import CpuMeter, Spent

SECONDS = float(os.environ.get("BENCH_INTAKE_SECONDS", "15"))
CLIENTS = int(os.environ.get("BENCH_INTAKE_CLIENTS", "8"))


def _drive(url: str, headers: dict, payload, seconds: float, clients: int) -> tuple[int, int, list[float]]:
    import requests

    done, errors, latencies = [0], [0], []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(k: int) -> None:
        session = requests.Session()
        n = 0
        while time.perf_counter() < stop:
            n += 1
            started = time.perf_counter()
            response = session.post(url, json=payload(k * 10_000_000 + n), headers=headers, timeout=30)
            spent = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(spent)
                if response.status_code in (200, 201):
                    done[0] += 1
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], errors[0], latencies


def run(ctx: Context) -> None:
    key = prepare_intake(ctx.app)
    tag = uuid.uuid4().hex[:6]
    with GunicornServer(ctx.database_url) as server:
        headers = {"X-API-Key": key}
        # warm every worker (imports, rule cache, connection pool)
        _drive(f"{server.url}/api/v1/intake/hotline_12345", headers, lambda n: demand(n, f"warm{tag}"), 2, CLIENTS)
        _drive(f"{server.url}/_bench/bare", {}, lambda n: demand(n, "bare"), 1, CLIENTS)
        _drive(f"{server.url}/_bench/floor", headers, lambda n: demand(n, "floor"), 2, CLIENTS)
        meter = CpuMeter(server.process.pid)
        before = meter.reading()
        ok, errors, lat = _drive(f"{server.url}/api/v1/intake/hotline_12345", headers,
                                 lambda n: demand(n, tag), SECONDS, CLIENTS)
        spent = meter.since(before)
        before = meter.reading()
        bare_ok, bare_errors, bare_lat = _drive(f"{server.url}/_bench/bare", {}, lambda n: demand(n, "bare"),
                                                SECONDS, CLIENTS)
        bare_spent = meter.since(before)
        before = meter.reading()
        floor_ok, floor_errors, floor_lat = _drive(f"{server.url}/_bench/floor", headers,
                                                   lambda n: demand(n, "floor"), SECONDS, CLIENTS)
        floor_spent = meter.since(before)
    section = f"Intake through HTTP (gunicorn, {server.workers} workers, PostgreSQL, 50 routing rules)"
    rate, bare_rate = ok / SECONDS, bare_ok / SECONDS
    ratio = rate / bare_rate if bare_rate else 0.0
    note = (f"{CLIENTS} concurrent clients for {SECONDS:g} s; {ok:,} orders registered; "
            f"{ratio:.2f} × the bare endpoint")
    ctx.against(section, "intake orders/s (register + route + dispatch + commit)", round(rate, 1), "orders/s",
                goal="≥ 0.4 × bare endpoint", ok=errors == 0 and at_least(rate, bare_rate, 0.4),
                limit_name="bare Flask endpoint on the same server", limit_value=round(bare_rate, 1),
                note=note)
    ctx.add(section, "intake p95 latency", round(percentile(lat, 95), 1), "ms",
            "bare endpoint p95", round(percentile(bare_lat, 95), 1))
    ctx.add(section, "intake errors", errors, "", "must be", 0.0,
            verdict="pass" if errors == 0 and bare_errors == 0 else "FAIL")
    floor_rate = floor_ok / SECONDS
    ctx.add(section, "floor: a registration's writes alone (benchmarks/floor.py)", round(floor_rate, 1), "orders/s",
            "bare Flask endpoint on the same server", round(bare_rate, 1),
            verdict="pass" if floor_errors == 0 else "FAIL",
            note=f"{floor_rate / bare_rate if bare_rate else 0:.2f} × the bare endpoint: the ceiling of any intake that "
                 f"keeps these writes on this server (the statements of a real registration replayed through "
                 f"psycopg, nothing else); {floor_errors} errors; p95 {percentile(floor_lat, 95):.1f} ms")
    _add_cpu(ctx, section, "intake", spent, ok + errors)
    _add_cpu(ctx, section, "floor", floor_spent, floor_ok + floor_errors)
    _add_cpu(ctx, section, "bare endpoint", bare_spent, bare_ok + bare_errors)


def _add_cpu(ctx: Context, section: str, kind: str, spent: Spent, requests: int) -> None:
    """Where the two cores' time went per request: a rate is capped by the sum of the three."""
    workers, database, client = spent.per_request_ms(requests)
    ctx.add(section, f"{kind}: CPU per request (workers + PostgreSQL + clients)",
            round(workers + database + client, 2), "ms",
            note=f"gunicorn workers {workers:.2f} ms, PostgreSQL {database:.2f} ms (every postgres "
                 f"process of the machine), the benchmark's clients {client:.2f} ms")
