"""Profile one kind of request in-process: where its milliseconds go, free of the noise of a
shared machine (no HTTP server, no other clients; the database is real PostgreSQL).

    python -m benchmarks.profile_requests intake              # 300 requests, text profile
    python -m benchmarks.profile_requests intake -n 1000 --html /tmp/intake.html
    python -m benchmarks.profile_requests intake --no-profile  # timing and SQL counts only
    python -m benchmarks.profile_requests --list

A benchmark database of its own is created (``create_pg_database``), migrated, seeded with
the organisation, the staff and ``BENCH_CUSTOMERS``/``BENCH_ORDERS`` scale rows (2,000 each
unless set), then dropped.  Each request kind is a function registered with ``@request_kind``:
it prepares what it needs (keys, rules, a signed-in client…) on the app and returns a callable
that makes one request and checks its answer; the script warms it up, then times and profiles
``-n`` calls with pyinstrument, and counts the SQL statements each call sends.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from typing import Any, Callable

from benchmarks.common import baseline, create_pg_database, demand, prepare_intake
from benchmarks.cpu import postgres_seconds

RequestKind = Callable[[Any], Callable[[], Any]]
KINDS: dict[str, tuple[RequestKind, str]] = {}


def request_kind(name: str, description: str) -> Callable[[RequestKind], RequestKind]:
    """Register ``setup(app) -> one_request()`` under ``name``."""
    def register(setup: RequestKind) -> RequestKind:
        KINDS[name] = (setup, description)
        return setup
    return register


@request_kind("intake", "POST /api/v1/intake/hotline_12345 with an API key, 50 active routing rules")
def intake(app: Any) -> Callable[[], Any]:
    key = prepare_intake(app)
    client = app.test_client()
    headers = {"X-API-Key": key}
    tag = uuid.uuid4().hex[:6]
    counter = iter(range(10**9))

    def one() -> Any:
        response = client.post("/api/v1/intake/hotline_12345", json=demand(next(counter), tag), headers=headers)
        assert response.status_code == 201, (response.status_code, response.get_data(as_text=True)[:300])
        return response
    return one


@request_kind("bare", "POST /_bench/bare: the bare Flask endpoint of the intake benchmark (the ceiling)")
def bare(app: Any) -> Callable[[], Any]:
    client = app.test_client()
    counter = iter(range(10**9))

    def one() -> Any:
        response = client.post("/_bench/bare", json=demand(next(counter), "bare"))
        assert response.status_code == 200, response.status_code
        return response
    return one


def build_app(database_url: str) -> Any:
    """The application on a fresh benchmark database, migrated and seeded like ``make bench``."""

    from app import create_app
    from app.extensions import db
    from app.ops.scale import seed_scale

    app = create_app(SQLALCHEMY_DATABASE_URI=database_url, SCHEDULER_ENABLED=False,
                     LOGIN_RATE_LIMITED=False, PERMISSION_CACHE_SECONDS=30,
                     ALLOWED_HOSTS="127.0.0.1,localhost")
    customers = int(os.environ.get("BENCH_CUSTOMERS", "2000"))
    orders = int(os.environ.get("BENCH_ORDERS", "2000"))
    with app.app_context():
        baseline(app)
        with db.engine.connect() as conn:
            seed_scale(conn, customers, orders, stations=50, progress=lambda _line: None)
            conn.commit()
    _add_bare_endpoint(app)
    return app


def _add_bare_endpoint(app: Any) -> None:
    """``/_bench/bare`` as ``benchmarks/wsgi_bench.py`` adds it (before the first request)."""
    from flask import jsonify, request

    from app.extensions import csrf

    def _bench_bare() -> Any:
        request.get_data()
        return jsonify(id=1, state="registered")

    app.add_url_rule("/_bench/bare", "_bench_bare", _bench_bare, methods=["GET", "POST"])
    csrf.exempt(_bench_bare)


class StatementCounter:
    """Counts (and, with ``keep``, keeps) the SQL statements sent to the engine while it is on."""

    def __init__(self, engine: Any, keep: bool = False) -> None:
        from sqlalchemy import event

        self.count = 0
        self.statements: list[str] = []
        self.keep = keep
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if self.keep:
            self.statements.append(" ".join(statement.split()))

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._count)


def profile(app: Any, name: str, n: int, warmup: int, html: str | None, with_profile: bool,
            depth: float, show_sql: bool = False, cprofile: str = "") -> None:
    from app.extensions import db

    setup, description = KINDS[name]
    one = setup(app)
    with app.app_context():
        engine = db.engine
    for _ in range(warmup):
        one()
    if show_sql:
        listing = StatementCounter(engine, keep=True)
        one()
        listing.close()
        print(f"{name}: the {listing.count} SQL statements of one request")
        for number, statement in enumerate(listing.statements, 1):
            print(f"  {number:3}. {statement[:400]}")
    counter = StatementCounter(engine)
    samples = []
    database_started = postgres_seconds()
    cpu_started = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        one()
        samples.append((time.perf_counter() - started) * 1000)
    cpu = (time.process_time() - cpu_started) * 1000 / n
    database_cpu = (postgres_seconds() - database_started) * 1000 / n
    counter.close()
    samples.sort()
    print(f"{name}: {description}")
    print(f"  {n} requests after {warmup} warm-up: mean {statistics.mean(samples):.2f} ms, "
          f"median {statistics.median(samples):.2f} ms, p95 {samples[int(0.95 * (n - 1))]:.2f} ms; "
          f"{cpu:.2f} ms CPU of this process and {database_cpu:.2f} ms of PostgreSQL's per request; "
          f"{counter.count / n:.1f} SQL statements per request")
    if cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(n):
            one()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(cprofile).print_stats(40)
        if os.environ.get("PROFILE_DUMP"):
            profiler.dump_stats(os.environ["PROFILE_DUMP"])
    if not with_profile:
        return
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(n):
        one()
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total",
                               flat=False, processor_options={"filter_threshold": depth / 100}))
    if html:
        with open(html, "w", encoding="utf-8") as out:
            out.write(profiler.output_html())
        print(f"wrote {html}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kinds", nargs="*", help="request kinds to profile (see --list)")
    parser.add_argument("-n", type=int, default=300, help="requests timed and profiled (each)")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--html", help="also write pyinstrument's HTML profile here (one kind)")
    parser.add_argument("--no-profile", action="store_true", help="timing and SQL counts only")
    parser.add_argument("--threshold", type=float, default=1.0,
                        help="hide frames under this percentage of the total (default 1)")
    parser.add_argument("--cprofile", default="", metavar="SORT",
                        help="also profile the process's CPU with cProfile, sorted by SORT (tottime, cumulative)")
    parser.add_argument("--sql", action="store_true", help="print the SQL statements of one request")
    parser.add_argument("--list", action="store_true", help="list the request kinds")
    args = parser.parse_args(argv)
    if args.list or not args.kinds:
        for kind, (_setup, description) in KINDS.items():
            print(f"{kind:12} {description}")
        return 0
    unknown = [k for k in args.kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown request kind(s): {', '.join(unknown)}")
    os.environ.setdefault("GRIDCARE_INSTANCE_DIR", os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "instance", "bench"))
    database_url, drop = create_pg_database()
    os.environ["DATABASE_URL"] = database_url
    app = None
    try:
        app = build_app(database_url)
        for kind in args.kinds:
            profile(app, kind, args.n, args.warmup, args.html, not args.no_profile, args.threshold,
                    args.sql, args.cprofile)
    finally:
        if app is not None:
            from app.extensions import db

            with app.app_context():
                db.engine.dispose()
        drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
