"""Marketing-system sync (the scheduler issue; set-based since issue 18): runs
benchmarks/sync_bench.py (each load in a child process, so peak memory is the child's) and
collects its table.

Goals (issue 18): on each database the sync loads at least half as many rows a second as the
driver's own bulk load of the same rows (COPY on PostgreSQL, executemany on SQLite and
MariaDB; the phone look-up digests included, see benchmarks/sync_bench.py), and its peak
memory stays flat from the smallest to the largest file (within 10 %)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import FULL, Context, at_least, at_most

ROOT = Path(__file__).resolve().parent.parent
SECTION = "Customer archive sync (rows/s, peak RSS of the loading process)"
RATE_FACTOR = 0.5
MEMORY_FACTOR = 1.1


def run(ctx: Context) -> None:
    rows = "100000,1000000" if FULL else os.environ.get("SYNC_BENCH_ROWS", "20000,100000")
    databases = os.environ.get("SYNC_BENCH_DATABASES", "sqlite postgresql mysql")
    env = dict(os.environ, SYNC_BENCH_ROWS=rows, SYNC_BENCH_DATABASES=databases)
    done = subprocess.run([sys.executable, "-m", "benchmarks.sync_bench"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    peaks: dict[str, list[tuple[int, float]]] = {}
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 8 or not cells[1].replace(",", "").isdigit():
            continue
        kind, count, sync_rate, sync_mb, driver, driver_rate, driver_mb, plain_rate = cells
        rate, limit = float(sync_rate.replace(",", "")), float(driver_rate.replace(",", ""))
        name = f"{kind}, {count} rows"
        ctx.against(SECTION, f"{name}: sync", rate, "rows/s", goal=f"≥ {RATE_FACTOR} × {driver}",
                    ok=at_least(rate, limit, RATE_FACTOR), limit_name=f"driver {driver}", limit_value=limit,
                    note=f"{rate / limit:.2f}× the driver")
        ctx.add(SECTION, f"{name}: sync peak memory", float(sync_mb), "MB",
                f"driver {driver} peak memory", float(driver_mb))
        ctx.add(SECTION, f"{name}: driver {driver}, phone digests left NULL", float(plain_rate.replace(",", "")),
                "rows/s", note="the limit before stop 24: the rows without the two look-up digests the sync "
                               "writes (two index inserts a row fewer); shown, not a goal")
        peaks.setdefault(kind, []).append((int(count.replace(",", "")), float(sync_mb)))
    for kind, measured in peaks.items():
        if len(measured) < 2:
            continue
        (small, small_mb), (large, large_mb) = min(measured), max(measured)
        ctx.against(SECTION, f"{kind}: sync peak memory, {large:,} rows beside {small:,}", large_mb, "MB",
                    goal=f"{large:,} peak ≤ {MEMORY_FACTOR} × {small:,} peak",
                    ok=at_most(large_mb, small_mb, MEMORY_FACTOR),
                    limit_name=f"peak at {small:,} rows", limit_value=small_mb)
