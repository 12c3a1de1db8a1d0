"""Marketing-system sync (the scheduler issue): runs benchmarks/sync_bench.py (each load in a
child process, so peak memory is the child's) and collects its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.common import FULL, Context

ROOT = Path(__file__).resolve().parent.parent


def run(ctx: Context) -> None:
    rows = "100000,1000000" if FULL else os.environ.get("SYNC_BENCH_ROWS", "20000,100000")
    env = dict(os.environ, SYNC_BENCH_ROWS=rows, SYNC_BENCH_DATABASES="sqlite postgresql")
    done = subprocess.run([sys.executable, "-m", "benchmarks.sync_bench"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    for line in done.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not cells[1].replace(",", "").isdigit():
            continue
        kind, count, sync_rate, sync_mb, driver, driver_rate, driver_mb = cells
        section = "Customer archive sync (rows/s, peak RSS of the loading process)"
        name = f"{kind}, {count} rows"
        ctx.add(section, f"{name}: sync", float(sync_rate.replace(",", "")), "rows/s",
                f"driver {driver}", float(driver_rate.replace(",", "")))
        ctx.add(section, f"{name}: sync peak memory", float(sync_mb), "MB",
                f"driver {driver} peak memory", float(driver_mb))
