"""Where a REST read spends its milliseconds: a district manager's keyset page of
``GET /api/v1/workorder/?limit=20`` and ``GET /api/v1/workorder/<id>`` with a bearer token, in
process (Flask test client) on PostgreSQL with seeded orders and timelines, timed and profiled
with pyinstrument (what ``docs/performance.md`` quotes).

    python -m benchmarks.rest_profile                 # a database of its own, seeded, dropped after
    REST_PROFILE_DATABASE_URL=postgresql+psycopg://…/db python -m benchmarks.rest_profile
                                                      # reuse one (seeded when empty), kept
    REST_PROFILE_ORDERS=5000  REST_PROFILE_REPEAT=200  REST_PROFILE_TREE=1 (print the trees)
    REST_PROFILE_CPU=1 (the trees without the waits for PostgreSQL's answers)
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Callable

from benchmarks.common import create_pg_database, median, percentile, timed

ORDERS = int(os.environ.get("REST_PROFILE_ORDERS", "5000"))
REPEAT = int(os.environ.get("REST_PROFILE_REPEAT", "200"))
ACCOUNT = "sc001_dm01"


def prepare(database_url: str) -> Any:
    from flask import jsonify
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.extensions import appbuilder, db
    from app.models.workorder import WorkOrder
    from app.ops.scale import seed_scale
    from app.security.access import sync_roles
    from app.seed import seed_organisation, seed_staff

    app = create_app(SQLALCHEMY_DATABASE_URI=database_url, SCHEDULER_ENABLED=False,
                     LOGIN_RATE_LIMITED=False, PERMISSION_CACHE_SECONDS=30)
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        if not db.session.scalar(select(func.count()).select_from(WorkOrder)):
            sync_roles(appbuilder)
            seed_organisation(db.session)
            seed_staff(appbuilder, db.session, "GridCare#2026")
            db.session.commit()
            with db.engine.connect() as conn:
                seed_scale(conn, max(1000, ORDERS // 2), ORDERS, stations=10, progress=lambda _: None)
                conn.commit()
        db.session.remove()

    @app.route("/_bench/bare")
    def bare() -> Any:  # the floor: the same app and test client, no database, no security
        return jsonify(id=1, state="registered")

    return app


def requests_of(app: Any) -> dict[str, Callable[[], Any]]:
    client = app.test_client()
    answer = client.post("/api/v1/security/login",
                         json={"username": ACCOUNT, "password": "GridCare#2026", "provider": "db"})
    headers = {"Authorization": f"Bearer {answer.get_json()['access_token']}"}
    page = client.get("/api/v1/workorder/?limit=20", headers=headers).get_json()
    cursor = page["next_after_id"]
    order_id = page["result"][3]["id"]

    def checked(url: str) -> Callable[[], Any]:
        def request() -> Any:
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True))
            return response
        return request

    return {"bare": checked("/_bench/bare"),
            "detail": checked(f"/api/v1/workorder/{order_id}"),
            "list page": checked(f"/api/v1/workorder/?limit=20&after_id={cursor}")}


def statements_per_request(app: Any, request: Callable[[], Any]) -> int:
    from sqlalchemy import event

    from app.extensions import db

    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        request()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return count[0]


def without_database_waits(frame: Any, options: Any = None) -> Any:
    """A pyinstrument processor: the round trips to PostgreSQL (psycopg's ``Connection.wait``:
    sending the statement, waiting, receiving the rows) taken out of the tree, so that what
    is left is the process's own work — on a machine shared with other loads the waits are
    mostly other processes' time."""
    if frame is None:
        return None
    for child in list(frame.children):
        without_database_waits(child)
    if frame.function == "wait" and (frame.file_path or "").endswith("psycopg/connection.py"):
        node = frame.parent
        while node is not None:
            node.time -= frame.time
            node = node.parent
        frame.remove_from_parent()
    return frame


def render(session: Any) -> str:
    from pyinstrument.renderers import ConsoleRenderer

    renderer = ConsoleRenderer(unicode=True, color=False, show_all=False, short_mode=False)
    if os.environ.get("REST_PROFILE_CPU"):
        renderer.processors.insert(0, without_database_waits)
    return renderer.render(session)


def main() -> int:
    from pyinstrument import Profiler

    reuse = os.environ.get("REST_PROFILE_DATABASE_URL")
    database_url, drop = (reuse, None) if reuse else create_pg_database()
    try:
        app = prepare(database_url)
        for name, request in requests_of(app).items():
            for _ in range(20):
                request()
            samples, blocks = [], []
            for _ in range(max(1, REPEAT // 20)):  # the quietest block: others share the machine
                cpu = time.process_time()
                samples += timed(request, repeat=20, warmup=0)
                blocks.append((time.process_time() - cpu) * 1000 / 20)
            cpu_ms = min(blocks)
            statements = statements_per_request(app, request)
            print(f"{name}: p50 {median(samples):.2f} ms, p95 {percentile(samples, 95):.2f} ms, "
                  f"CPU {cpu_ms:.2f} ms in Python (quietest block of 20), {statements} SQL statements")
            if os.environ.get("REST_PROFILE_TREE"):
                profiler = Profiler(interval=0.0002)
                profiler.start()
                for _ in range(REPEAT):
                    request()
                profiler.stop()
                print(render(profiler.last_session))
    finally:
        if drop is not None:
            drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
