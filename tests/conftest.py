"""Test fixtures: one application per run on the database named by GRIDCARE_TEST_DB
(sqlite, postgresql or mysql), in a database of its own that is dropped afterwards.

The schema is built by the Alembic migrations (as in production), roles by the access
matrix, the demo organisation and accounts by the seed; each test then starts from that
baseline: every other table is emptied before it runs.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest

TEST_DB = os.environ.get("GRIDCARE_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("GRIDCARE_PG_URL", "postgresql://127.0.0.1:5432/test")
MYSQL_HOST = os.environ.get("GRIDCARE_MYSQL_HOST", "127.0.0.1")
MYSQL_PORT = int(os.environ.get("GRIDCARE_MYSQL_PORT", "3306"))
PASSWORD = "GridCare#2026"

BASELINE_PREFIXES = ("ab_", "org_", "alembic_version")
# Seeded by the migrations (the statutory calendar) or the baseline seed: kept between tests.
BASELINE_TABLES = {"customer_tag", "energy_intention", "callback_question", "calendar_year", "calendar_day"}

# The date-sensitive runs of `make test`: the one clock set to each of these moments (station
# time), ticking from there.  A test that depends on the date is marked ``date_sensitive``.
CLOCK_DATES = {
    "first-working-day": "2026-12-01T09:30:00+08:00",
    "new-years-eve": "2026-12-31T16:00:00+08:00",
    "year-without-calendar-data": "2027-01-01T10:00:00+08:00",
    "make-up-saturday": "2026-10-10T09:30:00+08:00",
    "spring-festival-eve": "2026-02-16T10:00:00+08:00",
}

_TMP = Path(tempfile.mkdtemp(prefix="gridcare-test-"))
os.environ.setdefault("GRIDCARE_INSTANCE_DIR", str(_TMP / "instance"))
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")


def _create_database() -> tuple[str, Any]:
    """Create this run's own database; return its URL and a function that drops it."""
    name = f"gridcare_test_{uuid.uuid4().hex[:10]}"
    if TEST_DB == "sqlite":
        path = _TMP / f"{name}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    if TEST_DB == "postgresql":
        import psycopg

        try:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as error:
            pytest.exit(f"PostgreSQL at {PG_ADMIN_URL} cannot be reached: {error}", returncode=3)

        def drop() -> None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        # Thrown away after the run: a commit need not wait for the server's disk (the server
        # itself stays consistent; only a crash of the server could lose the last commits).
        return f"{base}/{name}?options=-c%20synchronous_commit%3Doff", drop
    if TEST_DB == "mysql":
        import pymysql

        try:
            conn = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="",
                                   connect_timeout=5, autocommit=True)
        except pymysql.err.OperationalError as error:
            pytest.exit(f"MariaDB at {MYSQL_HOST}:{MYSQL_PORT} cannot be reached: {error}", returncode=3)
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        conn.close()

        def drop() -> None:
            c = pymysql.connect(host=MYSQL_HOST, port=MYSQL_PORT, user="root", password="", autocommit=True)
            with c.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
            c.close()

        return f"mysql+pymysql://root:@{MYSQL_HOST}:{MYSQL_PORT}/{name}?charset=utf8mb4", drop
    raise pytest.UsageError(f"GRIDCARE_TEST_DB must be sqlite, postgresql or mysql, not {TEST_DB}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--clock", default=None, metavar="MOMENT",
                     help="set the one clock to an ISO moment or a name of CLOCK_DATES "
                          f"({', '.join(CLOCK_DATES)}) for the whole run; it ticks from there")


_traveller: Any = None


def pytest_configure(config: pytest.Config) -> None:
    global _traveller
    config.addinivalue_line("markers", "date_sensitive: depends on the date; `make test` also runs "
                                       "it with --clock set to each of CLOCK_DATES")
    config.addinivalue_line("markers", "browser: drives Chromium (set on every test using the page "
                                       "fixture); `make test` runs these on SQLite only")
    config.addinivalue_line("markers", "databases(*names): runs on the passes of these databases only "
                                       "(sqlite, postgresql, mysql); deselected, never skipped, on the others")
    moment = config.getoption("--clock")
    if moment:
        import datetime as dt

        import time_machine

        when = dt.datetime.fromisoformat(CLOCK_DATES.get(moment, moment))
        if when.tzinfo is None:
            raise pytest.UsageError("--clock needs a moment with its UTC offset, e.g. 2027-01-01T10:00+08:00")
        # Started before the application exists, so everything (seeding included) agrees on now.
        _traveller = time_machine.travel(when, tick=True)
        _traveller.start()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A browser test checks what the screens do, not the database under them: it is marked
    # here, once, so the PostgreSQL and MariaDB passes of `make test` can leave it out.
    for item in items:
        if {"page", "chromium", "live_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
    # A test that only means something on some databases (SQLite's single writer, the embedded
    # default, scheduler processes on PostgreSQL) is left out of the other passes, not skipped.
    elsewhere = [item for item in items
                 if (marker := item.get_closest_marker("databases")) and TEST_DB not in marker.args]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if item not in elsewhere]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _traveller is not None:
        _traveller.stop()


def pytest_report_header(config: pytest.Config) -> str | None:
    moment = config.getoption("--clock")
    return f"clock set to {CLOCK_DATES.get(moment, moment)} ({moment})" if moment else None


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    url, drop = _create_database()
    yield url
    from app.extensions import db

    try:
        db.session.remove()
        db.engine.dispose()
    except Exception:
        pass
    drop()


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Any]:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import appbuilder, db
    from app.seed import seed_organisation, seed_staff
    from app.security.access import sync_roles

    application = create_app(
        SQLALCHEMY_DATABASE_URI=database_url,
        TESTING=True,
        SCHEDULER_ENABLED=False,
        LOGIN_RATE_LIMIT="10000 per minute",
        LOGIN_RATE_LIMIT_PER_ADDRESS="10000 per minute",
        SERVER_NAME=None,
        # Test accounts sign in hundreds of times per run: a cheap hash keeps that from costing
        # minutes; production keeps Argon2id (tests/test_security_passwords.py).
        FAB_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000",
        # The run's database is thrown away afterwards: commits need not wait for the disk.
        SQLITE_SYNCHRONOUS="OFF",
        DOCUMENT_DIR=str(_TMP / "documents"),
        OUTBOX_DIR=str(_TMP / "outbox"),
    )
    with application.app_context():
        upgrade(directory=application.extensions["migrate"].directory, revision="heads")
        sync_roles(appbuilder)
        seed_organisation(db.session)
        seed_staff(appbuilder, db.session, PASSWORD)
        db.session.commit()
    yield application


@pytest.fixture(autouse=True)
def clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty every non-baseline table before each test that uses the application."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from sqlalchemy import delete, text
    from flask_appbuilder import Model

    from app.extensions import db

    with app.app_context():
        db.session.remove()
        mysql = db.engine.dialect.name == "mysql"
        if mysql:  # MariaDB checks self-references row by row
            db.session.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in reversed(Model.metadata.sorted_tables):
            if table.name.startswith(BASELINE_PREFIXES) or table.name in BASELINE_TABLES:
                continue
            db.session.execute(delete(table))
        if mysql:
            db.session.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        db.session.commit()
        _reset_staff_flags(db.session)
    # What a process keeps of the emptied tables: its block of order numbers, cached API keys,
    # rule sets and clock targets.
    from app.channels import apikeys
    from app.rules import engine
    from app.workflow import clocks, numbering

    numbering.forget()
    clocks.forget_targets()
    apikeys.forget()
    engine.clear_cache()
    yield
    with app.app_context():
        db.session.remove()


def _reset_staff_flags(session: Any) -> None:
    from sqlalchemy import update

    from app.models.org import StaffProfile

    session.execute(update(StaffProfile).values(on_duty=True))
    session.commit()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def db_session(app: Any) -> Iterator[Any]:
    """A session of the test's own, outside any app context: the test client's requests
    then get fresh contexts (and their own ``g``), as real requests do."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from app import _tune_sqlite

    # An engine of the test's own: on SQLite its transactions begin DEFERRED, so a test
    # holding a read transaction never blocks the requests it makes (which begin IMMEDIATE).
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    _tune_sqlite(engine, begin="BEGIN")
    session = Session(engine)
    yield session
    session.close()
    engine.dispose()


# --- signing in as a user would ---------------------------------------------------------
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def browser_login(client: Any, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/login/")
    token = csrf_from(page.get_data(as_text=True))
    response = client.post("/login/", data={"username": username, "password": password,
                                            "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 302, f"login of {username} failed"
    return response


def api_token(client: Any, username: str, password: str = PASSWORD) -> str:
    response = client.post("/api/v1/security/login",
                           json={"username": username, "password": password, "provider": "db"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["access_token"]


@pytest.fixture
def login_as(app: Any) -> Any:
    """``login_as("leader1")`` → a test client signed in through the login form."""

    def _login(username: str) -> Any:
        c = app.test_client()
        browser_login(c, username)
        return c

    return _login


@pytest.fixture
def api_as(app: Any) -> Any:
    """``api_as("manager1")`` → a small client that sends the user's bearer token."""

    class ApiClient:
        def __init__(self, username: str) -> None:
            self.client = app.test_client()
            self.headers = {"Authorization": f"Bearer {api_token(self.client, username)}"}

        def get(self, url: str, **kw: Any) -> Any:
            return self.client.get(url, headers=self.headers, **kw)

        def post(self, url: str, **kw: Any) -> Any:
            return self.client.post(url, headers=self.headers, **kw)

    return ApiClient


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """Keep each phase's report on the test item (browser tests screenshot on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


pytest_plugins = ["tests.browser"]
