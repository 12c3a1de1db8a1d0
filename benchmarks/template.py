"""Seeds a benchmark database once, to be copied by each later run (``BENCH_TEMPLATE``):
the full-scale seed takes ten minutes, a PostgreSQL copy of it about one.

    BENCH_SCALE=full BENCH_TEMPLATE=gridcare_bench_full python -m benchmarks.template
    BENCH_SCALE=full BENCH_TEMPLATE=gridcare_bench_full make bench

The copy is brought to the code's migration head by the run itself; the seeding figures are
kept beside it in instance/bench/<name>.json and reported by each run that uses it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from benchmarks.__main__ import ROOT
from benchmarks.common import FULL, PG_ADMIN_URL, baseline, create_pg_database


def main() -> int:
    import psycopg

    template = os.environ.get("BENCH_TEMPLATE", "")
    if not template:
        raise SystemExit("name the database to seed: BENCH_TEMPLATE=gridcare_bench_full")
    sizes = {"customers": 1_000_000, "orders": 1_000_000} if FULL else {
        "customers": int(os.environ.get("BENCH_CUSTOMERS", "50000")),
        "orders": int(os.environ.get("BENCH_ORDERS", "100000"))}
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
    database_url, drop = create_pg_database(name=template)
    os.environ.setdefault("GRIDCARE_INSTANCE_DIR", str(ROOT / "instance" / "bench"))
    try:

        from app import create_app
        from app.extensions import db
        from app.ops.scale import seed_scale

        app = create_app(SQLALCHEMY_DATABASE_URI=database_url, SCHEDULER_ENABLED=False)
        with app.app_context():
            baseline(app)
            with db.engine.connect() as conn:
                figures = seed_scale(conn, sizes["customers"], sizes["orders"], stations=50)
                conn.commit()
            db.session.remove()
            db.engine.dispose()
    except BaseException:
        drop()
        raise
    path = ROOT / "instance" / "bench" / f"{template}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"sizes": sizes, "figures": figures,
                                "seeded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}),
                    encoding="utf-8")
    print(f"seeded {template}: {figures}; figures in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
