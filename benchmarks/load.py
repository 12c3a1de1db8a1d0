"""Load test: locust headless, bounded in time, against the intake API and the mobile
work-order API on gunicorn + PostgreSQL over loopback: requests/s, p95 and errors (must be 0)."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import FULL, ROOT_DIR, Context, GunicornServer, prepare_intake

SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "60" if FULL else "30"))
USERS = int(os.environ.get("BENCH_LOAD_USERS", "30"))


def run(ctx: Context) -> None:
    key = prepare_intake(ctx.app)
    accounts = ",".join(f"sc{s:03d}_dm{g:02d}" for s in range(1, 11) for g in range(1, 4))
    with GunicornServer(ctx.database_url) as server, tempfile.TemporaryDirectory() as tmp:
        prefix = str(Path(tmp) / "load")
        env = dict(os.environ, LOAD_API_KEY=key, LOAD_USERS=accounts)
        result = subprocess.run(
            [sys.executable, "-m", "locust", "-f", "benchmarks/locustfile.py", "--headless",
             "-u", str(USERS), "-r", str(max(1, USERS // 5)), "-t", f"{SECONDS}s", "--stop-timeout", "5",
             "--host", server.url, "--csv", prefix, "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT_DIR, env=env, capture_output=True, text=True, timeout=SECONDS + 120)
        rows = list(csv.DictReader(open(prefix + "_stats.csv", encoding="utf-8")))
        failures = open(prefix + "_failures.csv", encoding="utf-8").read().strip().splitlines()[1:]
    section = (f"Load test (locust headless, {USERS} users for {SECONDS} s, gunicorn {server.workers} "
               "workers + PostgreSQL, loopback)")
    for row in rows:
        name = row["Name"]
        errors = int(row["Failure Count"])
        label = "all requests" if name == "Aggregated" else f"{row['Type']} {name}".replace("POST POST", "POST").replace("GET GET", "GET")
        ctx.add(section, f"{label}: requests/s", round(float(row["Requests/s"]), 1), "req/s",
                note=f"{int(row['Request Count']):,} requests")
        ctx.add(section, f"{label}: p95", float(row["95%"] or 0), "ms")
        ctx.add(section, f"{label}: errors", errors, "", "must be", 0.0,
                verdict="pass" if errors == 0 else "FAIL",
                note="; ".join(failures[:3]) if errors and name == "Aggregated" else "")
    if result.returncode not in (0, 1):
        raise RuntimeError(f"locust exited with {result.returncode}: {result.stderr[-1500:]}")
