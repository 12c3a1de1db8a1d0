"""The marketing-system sync in the `make bench` report (``run(ctx)``): rows per second and
peak memory of ``run_sync`` on SQLite and PostgreSQL, beside the driver's bulk load of the
same rows (``executemany`` / ``COPY``) as the limit, and the peak memory of the largest
file beside the smallest's (streaming: it must stay about the same).

Sizes: 100,000 and 1,000,000 rows with BENCH_SCALE=full, else SYNC_BENCH_ROWS (default
10,000 and 50,000).  Each measurement runs in a child process on a database of its own
(see ``benchmarks/sync_bench.py``, which also runs on its own)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.sync_bench import measure

SECTION = "Marketing-system sync (customer archive, GBK CSV)"


def run(ctx: Any) -> None:
    full = os.environ.get("BENCH_SCALE", "small") == "full"
    counts = [100_000, 1_000_000] if full else [
        int(n) for n in os.environ.get("SYNC_BENCH_ROWS", "10000,50000").split(",") if n.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    for kind in os.environ.get("SYNC_BENCH_DATABASES", "sqlite postgresql").split():
        results = measure(kind, counts, workdir)
        for r in results:
            ctx.add(SECTION, f"{kind}, {r['rows']:,} rows: sync throughput", round(r["sync_rows_per_s"]),
                    "rows/s", limit_name=f"driver {r['driver']}", limit_value=round(r["driver_rows_per_s"]),
                    note="validation, quarantine, upsert by customer number in batches of 1,000, resumable run")
        smallest, largest = results[0], results[-1]
        ratio = largest["sync_peak_mb"] / smallest["sync_peak_mb"]
        ctx.add(SECTION, f"{kind}, {largest['rows']:,} rows: sync peak memory (RSS)",
                round(largest["sync_peak_mb"]), "MB",
                limit_name=f"peak at {smallest['rows']:,} rows", limit_value=round(smallest["sync_peak_mb"]),
                verdict="pass" if ratio < 1.25 else "FAIL", note=f"ratio {ratio:.2f}")
