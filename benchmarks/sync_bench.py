"""Sync throughput and peak memory, beside the driver's own bulk load as the limit.

For each row count (``SYNC_BENCH_ROWS``, comma-separated, default ``10000,50000``) and each
database (``SYNC_BENCH_DATABASES``, default ``sqlite postgresql mysql``), a fresh database is
made and migrated, a GBK customer export of that many rows is written, and then, each in a
child process of its own so that peak memory is its own:

- ``sync``: ``run_sync`` (validation, staging table, set-based checks and upsert in batches,
  resumable run);
- ``driver``: the same rows parsed with ``csv`` only and loaded straight through the driver
  (``executemany`` on SQLite and MariaDB, ``COPY`` on PostgreSQL): the ceiling, with none of
  the checks. The rows are the ones the sync leaves in the table, the two phone look-up
  digests included (``phone_keys``, computed in the timed loop): left NULL, as before stop 24,
  the driver skipped two random-key index inserts a row that the table needs for these rows;
  that older load is still measured (``driver-nodigests``) and shown, without a goal.

Peak memory is the child's maximum resident set (``ru_maxrss``); the streaming claim is that
it stays about the same whatever the row count.  Results are printed as markdown lines and
appended to ``BENCH_DATA/sync_bench.md``.

    SYNC_BENCH_ROWS=100000,1000000 .venv/bin/python -m benchmarks.sync_bench
"""

from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://127.0.0.1:5432/test")
MYSQL_HOST = os.environ.get("BENCH_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("BENCH_MYSQL_PORT", "3306"))
GRIDS = [f"ST00{s}-G0{g}" for s in (1, 2) for g in range(1, 7)]
TYPES = ["居民", "居民", "非居民", "农业", "大工业"]
HEADER = ["户号", "户名", "用电类别", "联系电话", "证件号码", "用电地址", "台区编号", "变压器编号",
          "电表资产号", "合同容量", "电价类别", "更新时间"]


def _batches(rows: Iterator[tuple], size: int) -> Iterator[list[tuple]]:
    """The rows in lists of ``size`` (the last one shorter), as the driver's bulk path takes them."""
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch

def write_export(path: Path, rows: int) -> None:
    with path.open("w", encoding="gbk", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n in range(1, rows + 1):
            grid = GRIDS[n % len(GRIDS)]
            writer.writerow([f"36{n:09d}", f"客户{n}号", TYPES[n % 5], f"139{n:08d}", "",
                             f"示范县东城路{n}号", grid, f"{grid}-T1", f"M{n:010d}", str(4 + n % 5),
                             "居民合表", "2026-11-01 08:00:00"])


def create_database(kind: str) -> tuple[str, object]:
    name = f"gridcare_bench_{uuid.uuid4().hex[:8]}"
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / f"{name}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    if kind == "mysql":
        import pymysql

        def admin():  # type: ignore[no-untyped-def]
            return pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)

        with admin() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

        def drop_mysql() -> None:
            with admin() as conn, conn.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")

        return f"mysql+pymysql://root:@{MYSQL_HOST}:{MYSQL_PORT}/{name}?charset=utf8mb4", drop_mysql
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}", drop


def _app(url: str):  # type: ignore[no-untyped-def]
    os.environ["DATABASE_URL"] = url
    sys.path.insert(0, str(ROOT))
    from benchmarks.common import BENCH_SECRET_KEY

    os.environ.setdefault("SECRET_KEY", BENCH_SECRET_KEY)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app

    return create_app(SCHEDULER_ENABLED=False)


def prepare(url: str) -> None:
    from flask_migrate import upgrade

    from app.extensions import db
    from app.seed import seed_organisation

    app = _app(url)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        seed_organisation(db.session)
        db.session.commit()


def reset(url: str) -> None:
    from sqlalchemy import delete

    from app.extensions import db
    from app.models.customer import Customer
    from app.models.sync import QuarantinedRow, SyncRun

    app = _app(url)
    with app.app_context():
        for model in (QuarantinedRow, SyncRun, Customer):
            db.session.execute(delete(model))
        db.session.commit()


def measure_sync(url: str, path: Path) -> dict:
    from app.extensions import db
    from app.jobs.sync import run_sync

    app = _app(url)
    with app.app_context():
        started = time.perf_counter()
        summary = run_sync(db.session, "customers", path)
        seconds = time.perf_counter() - started
    return {"rows": summary.inserted, "seconds": seconds}


def measure_driver(url: str, path: Path, digests: bool = True) -> dict:
    """The same rows loaded through the driver: no validation, no upsert, no run record; with
    the phone look-up digests the sync writes unless ``digests`` is false."""
    from sqlalchemy import create_engine, text

    from app.models.customer import phone_keys

    engine = create_engine(url)
    with engine.connect() as conn:
        grids = dict(conn.execute(text("SELECT code, id FROM org_grid")).all())
        transformers = dict(conn.execute(text("SELECT code, id FROM org_transformer")).all())
    types = {"居民": "residential", "非居民": "non_residential", "大工业": "large_industry", "农业": "agricultural"}
    columns = ("customer_no", "name", "customer_type", "phone", "address", "grid_id", "transformer_id",
               "meter_no", "contract_capacity_kva", "tariff", "created_at", "updated_at") + (
               ("phone_key", "phone_tail_key") if digests else ())
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())

    def rows():  # type: ignore[no-untyped-def]
        with path.open(encoding="gbk", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for r in reader:
                row = (r[0], r[1], types[r[2]], r[3], r[5], grids[r[6]], transformers[r[7]], r[8], r[9],
                       r[10], now, now)
                if digests:
                    keys = phone_keys(r[3] or None)
                    row += (keys["phone_key"], keys["phone_tail_key"])
                yield row

    started = time.perf_counter()
    count = 0
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        sql = f"INSERT INTO customer ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for batch in _batches(rows(), 10_000):
            conn.executemany(sql, batch)
            count += len(batch)
        conn.commit()
        conn.close()
    elif url.startswith("mysql"):
        import pymysql

        database = url.rsplit("/", 1)[1].split("?")[0]
        conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", database=database,
                               charset="utf8mb4")
        sql = f"INSERT INTO customer ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        with conn.cursor() as cursor:
            for batch in _batches(rows(), 10_000):
                cursor.executemany(sql, batch)  # pymysql sends multi-row INSERTs
                count += len(batch)
        conn.commit()
        conn.close()
    else:
        import psycopg

        raw = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(raw) as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY customer ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows():
                    copy.write_row(row)
                    count += 1
            conn.commit()
    return {"rows": count, "seconds": time.perf_counter() - started}


def child(mode: str, url: str, path: str) -> None:
    if mode == "sync":
        result = measure_sync(url, Path(path))
    else:
        result = measure_driver(url, Path(path), digests=mode != "driver-nodigests")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def _run_child(mode: str, url: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.sync_bench", "--child", mode, url, str(path)],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = next(row for row in out.splitlines() if row.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def measure(kind: str, counts: list[int], workdir: Path) -> list[dict]:
    """Sync and driver figures for each row count on a fresh database of ``kind``."""
    results = []
    url, drop = create_database(kind)
    try:
        subprocess.run([sys.executable, "-m", "benchmarks.sync_bench", "--prepare", url], cwd=ROOT, check=True)
        for rows in counts:
            path = workdir / f"export-{rows}.csv"
            if not path.exists():
                write_export(path, rows)
            subprocess.run([sys.executable, "-m", "benchmarks.sync_bench", "--reset", url], cwd=ROOT, check=True)
            synced = _run_child("sync", url, path)
            subprocess.run([sys.executable, "-m", "benchmarks.sync_bench", "--reset", url], cwd=ROOT, check=True)
            direct = _run_child("driver", url, path)
            subprocess.run([sys.executable, "-m", "benchmarks.sync_bench", "--reset", url], cwd=ROOT, check=True)
            plain = _run_child("driver-nodigests", url, path)
            results.append({
                "database": kind, "rows": rows, "driver": "COPY" if kind == "postgresql" else "executemany",
                "sync_rows_per_s": synced["rows"] / synced["seconds"], "sync_peak_mb": synced["peak_rss_mb"],
                "driver_rows_per_s": direct["rows"] / direct["seconds"], "driver_peak_mb": direct["peak_rss_mb"],
                "plain_rows_per_s": plain["rows"] / plain["seconds"],
            })
    finally:
        drop()  # type: ignore[operator]
    return results


def markdown_line(r: dict) -> str:
    return (f"| {r['database']} | {r['rows']:,} | {r['sync_rows_per_s']:,.0f} | {r['sync_peak_mb']:.0f} | "
            f"{r['driver']} | {r['driver_rows_per_s']:,.0f} | {r['driver_peak_mb']:.0f} | {r['plain_rows_per_s']:,.0f} |")


def main() -> None:
    counts = [int(n) for n in os.environ.get("SYNC_BENCH_ROWS", "10000,50000").split(",") if n.strip()]
    databases = os.environ.get("SYNC_BENCH_DATABASES", "sqlite postgresql mysql").split()
    lines = ["| database | rows | sync rows/s | sync peak RSS (MB) | driver | driver rows/s | driver peak RSS (MB) "
             "| driver rows/s, digests left NULL |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |"]
    print("\n".join(lines), flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="sync-bench-"))
    for kind in databases:
        for result in measure(kind, counts, workdir):
            lines.append(markdown_line(result))
            print(lines[-1], flush=True)
    out = ROOT / "BENCH_DATA"
    out.mkdir(exist_ok=True)
    with (out / "sync_bench.md").open("a", encoding="utf-8") as handle:
        handle.write(f"\n## {time.strftime('%Y-%m-%d %H:%M')} sync benchmark\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "--prepare":
        prepare(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "--reset":
        reset(sys.argv[2])
    else:
        main()
