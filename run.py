"""`python run.py`: the embedded default.

SQLite under instance/, schema migrated to the newest revision, roles synced, demo data
seeded when the database is empty, the scheduler in-process, Flask's server on
127.0.0.1:$PORT (8080 by default).
"""

from __future__ import annotations

import os

from flask_migrate import upgrade
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler

from app import create_app
from app.extensions import appbuilder, db


def prepare(app) -> None:  # type: ignore[no-untyped-def]
    from app.models.org import Station
    from app.security.access import sync_roles
    from app.seed import seed_demo

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision="heads")
        sync_roles(appbuilder)
        if not db.session.scalar(select(func.count()).select_from(Station)):
            customers = int(os.environ.get("DEMO_CUSTOMERS", "3000"))
            orders = int(os.environ.get("DEMO_ORDERS", "400"))
            print(f"Empty database: seeding demo data ({customers} customers, {orders} orders)…")
            seed_demo(appbuilder, db.session, customers, orders, app.config["DEMO_PASSWORD"])


class AnonymousServerHandler(WSGIRequestHandler):
    """Flask's server without its ``Server: Werkzeug/… Python/…`` header (it tells a probe
    which software and versions to attack)."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() != "server":
            super().send_header(keyword, value)


def main() -> None:
    app = create_app()
    prepare(app)
    if app.config.get("SCHEDULER_ENABLED"):
        try:
            from app.jobs.scheduler import start_in_process
        except ImportError:
            start_in_process = None
        if start_in_process is not None:
            start_in_process(app)
    port = int(os.environ.get("PORT", app.config.get("PORT", 8080)))
    print(f"GridCare on http://127.0.0.1:{port}  (demo password: see DEMO_PASSWORD)")
    app.run(host="127.0.0.1", port=port, debug=False, use_reloader=False, threaded=True,
            request_handler=AnonymousServerHandler)


if __name__ == "__main__":
    main()
