"""GridCare: the application factory."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter
from sqlalchemy import event

from app.extensions import appbuilder, csrf, db, migrate

BASE_DIR = Path(__file__).resolve().parent.parent


class _BoundedInt(IntegerConverter):
    """``<int:…>`` URL parts fit a signed 32-bit id column: a larger number matches no route
    (404) instead of overflowing the database driver (a 500 found by fuzzing, issue 6).  More
    than ten digits fail the pattern itself, so no rule of the path matches (a refusal by
    ``max`` alone lets Werkzeug answer 405 when a rule for another method shares the path)."""

    regex = r"\d{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(config: Any = None, **overrides: Any) -> Flask:
    from config import INSTANCE_DIR, Config

    app = Flask(__name__, instance_path=str(INSTANCE_DIR), instance_relative_config=False)
    app.url_map.converters["int"] = _BoundedInt  # an id beyond any column's range is a 404
    app.config.from_object(config or Config)
    app.config.update(overrides)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("PROXY_FIX"):
        install_proxy_fix(app)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))

    from app import translations

    translations.compile_catalogues()

    from app import audit
    from app.security import hardening, passwords

    passwords.check_settings(app.config)  # Argon2id never below OWASP's minimum

    app.config.setdefault("FAB_PASSWORD_COMPLEXITY_VALIDATOR", hardening.password_complexity)
    hardening.init_app(app)
    audit.install()
    audit.install_personal_data_log(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"))
    with app.app_context():
        _tune_sqlite(db.engine, synchronous=app.config["SQLITE_SYNCHRONOUS"])
        _tune_postgresql(db.engine)
        from app import models  # noqa: F401  (registers every table)

        app.config.setdefault("FAB_CREATE_DB", False)
        app.config["FAB_CREATE_DB"] = False
        appbuilder.indexview = None
        from app.views.index import GridCareIndexView

        appbuilder.indexview = GridCareIndexView
        appbuilder.init_app(app, db.session)
        from app import api, views
        from app.views import navbar

        views.register(appbuilder)
        navbar.register(app)
        api.register(appbuilder)
        appbuilder.post_init()
        _drop_menu_separators(appbuilder.menu.menu)
        from app.views.titles import localise_titles

        localise_titles(appbuilder)
        _protect_forms(app)
        hardening.init_security(app, appbuilder)
        register_edge_hooks(app, appbuilder)

    from app.errors import register_error_handlers
    from app.cli import register_cli

    register_error_handlers(app)
    register_cli(app)
    register_workflow(app)
    return app


def register_workflow(app: Flask) -> None:
    """The workflow service's policy, calendar, router and hooks — in one place, in order.

    After every transition the hooks run in this order, in the transition's transaction:
    the channel's feedback outbox first (it records the result as the transition left it),
    then duplicate flagging and outage grouping (which may link or resolve other orders),
    then work points of completed tasks and of evaluated orders (scoring rules) and their
    reversal when an order is reopened or sent back for redo, and last the notifications of
    the people concerned (in-app, with mail and SMS queued for delivery)."""
    from app import rules
    from app.channels import duplicates, feedback, grouping, settings, tasks
    from app.notifications.workorder import notify_transition
    from app.rules import routing, scoring
    from app.workflow import calendar, calendar_data, clocks, deadlines, numbering, service

    service.configure(app.config)
    clocks.configure(app.config)
    numbering.configure(app.config)
    settings.configure(app.config)
    # The statutory calendar is read from the database (cached per year for a short time),
    # and every flush keeps work orders' provisional-deadline flag right.
    with app.app_context():
        calendar.configure(calendar_data.engine_loader(_calendar_engine(db.engine, app.config["SQLITE_SYNCHRONOUS"])),
                           cache_seconds=float(app.config.get("CALENDAR_CACHE_SECONDS", 60)))
    deadlines.install()
    rules.init_app(app)
    service.set_router(routing.route_order)
    for hook in (feedback.record_feedback, duplicates.flag_duplicate, grouping.group_outage,
                 grouping.cascade_resolution, tasks.award_points_on_completion,
                 scoring.score_order_event, notify_transition):
        service.add_hook(hook)


def _calendar_engine(engine: Any, synchronous: str) -> Any:
    """The engine the calendar loader reads with.  On SQLite, an engine of its own whose
    transactions begin DEFERRED: the loader runs while the caller's session may hold the write
    lock (BEGIN IMMEDIATE), and a WAL reader never waits for a writer."""
    if engine.dialect.name != "sqlite":
        return engine
    from sqlalchemy import create_engine

    reader = create_engine(engine.url)
    _tune_sqlite(reader, begin="BEGIN", synchronous=synchronous)
    return reader


def _drop_menu_separators(items: list[Any]) -> None:
    """FAB's menu API sends a separator as the string "-" where its own spec promises an
    object (a schema violation found by fuzzing, issue 6): the menus go without them."""
    items[:] = [item for item in items if item.name != "-"]
    for item in items:
        _drop_menu_separators(item.childs)


def install_proxy_fix(app: Flask) -> None:
    """Behind nginx: the client's address, scheme and host come from X-Forwarded-*, trusting
    exactly PROXY_FIX_HOPS proxies (never set PROXY_FIX=1 without a proxy in front)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    hops = int(app.config.get("PROXY_FIX_HOPS", 1))
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops,  # type: ignore[method-assign]
                            x_port=hops, x_prefix=hops)


def _protect_forms(app: Flask) -> None:
    """CSRF on every form; the REST APIs take bearer tokens (or API keys), not cookies."""
    from flask_appbuilder.api import BaseApi

    csrf.init_app(app)
    for view in appbuilder.baseviews:
        if isinstance(view, BaseApi) and getattr(view, "blueprint", None) is not None:
            csrf.exempt(view.blueprint)


def register_edge_hooks(app: Flask, appbuilder: Any) -> None:
    """The request hooks of the edges (issue 14), in the order they run (after the allowed
    host check of ``hardening.init_app``)."""
    from app.views.common import ListArgumentGuard

    # Every generated list's filter, sort and page arguments: exact names from the viewer's allow-list.
    app.before_request(ListArgumentGuard(appbuilder))


def _tune_postgresql(engine: Any) -> None:
    """Every statement planned for its own parameters, and parsed once per connection.
    psycopg prepares a statement on the server after its fifth run; PostgreSQL would then
    switch after five more to a generic plan that does not see the values: a list filtered by
    a rare name (``name ILIKE '%杨秀%'``) was planned as if the filter kept most rows and
    walked the whole customer-number index to fill one page (0.6–1 s instead of 20 ms).
    ``plan_cache_mode = force_custom_plan`` plans each run for its own values (well under a
    millisecond for a list's statements) and keeps what preparing saves: the parse and
    analysis of statements run thousands of times (1.1 ms of PostgreSQL's CPU per
    registration while preparing was switched off altogether)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True  # a setting of the session, outside any transaction
        dbapi_connection.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_connection.autocommit = autocommit


SQLITE_SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


def _tune_sqlite(engine: Any, begin: str = "BEGIN IMMEDIATE", synchronous: str = "FULL") -> None:
    """SQLite as a real transactional store: WAL, a busy timeout, working savepoints
    (pysqlite's own transaction handling is switched off, SQLAlchemy's recipe), and each
    commit on disk before it returns (``synchronous``: FULL unless configured otherwise)."""
    if synchronous.upper() not in SQLITE_SYNCHRONOUS_MODES:
        raise ValueError(f"SQLITE_SYNCHRONOUS must be one of {', '.join(SQLITE_SYNCHRONOUS_MODES)}, "
                         f"not {synchronous!r}")
    if engine.dialect.name == "mysql":
        # Flask-AppBuilder declares optional sequences (ab_user_id_seq…); MariaDB would use
        # them, OceanBase's MySQL mode has none: use AUTO_INCREMENT on every MySQL flavour.
        with engine.connect():
            pass  # the dialect inspects the server on first connect; override after it
        engine.dialect.supports_sequences = False
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE: take the write lock up front, so concurrent writers queue on the busy
        # timeout instead of failing with "database is locked" when a read turns into a write.
        conn.exec_driver_sql(begin)
