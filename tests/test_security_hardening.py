"""Hardening as an attacker or a careless client meets it: headers, rate limits, no user
enumeration, token expiry and revocation, allowed hosts, password rules."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import api_token, csrf_from

ROOT = Path(__file__).resolve().parent.parent


def test_screens_send_security_headers_and_no_store(client, login_as):
    page = client.get("/login/")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "'nonce-" in csp and "unsafe-eval" not in csp
    nonce = csp.split("'nonce-")[1].split("'")[0]
    html = page.get_data(as_text=True)
    assert f'nonce="{nonce}"' in html  # the screens' own inline scripts carry it
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    listing = login_as("leader1").get("/customerview/list/")
    assert listing.headers["Cache-Control"] == "no-store"
    session_cookie = [h for h in page.headers.getlist("Set-Cookie") if h.startswith("session=")]
    assert session_cookie and "HttpOnly" in session_cookie[0] and "SameSite=Lax" in session_cookie[0]


def test_login_is_rate_limited_per_account(app):
    client = app.test_client()
    address = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        statuses = []
        for _ in range(4):
            page = client.get("/login/", environ_base=address)
            statuses.append(client.post("/login/", environ_base=address, data={
                "username": "leader1", "password": "wrong-password",
                "csrf_token": csrf_from(page.get_data(as_text=True))}).status_code)
        assert statuses[:3] != [429] * 3 and statuses[3] == 429
        api = [client.post("/api/v1/security/login", environ_base=address,
                           json={"username": "manager1", "password": "x", "provider": "db"}).status_code
               for _ in range(4)]
        assert api[:3] == [401, 401, 401] and api[3] == 429
        # Another account from the same address is not locked out by the first one.
        assert client.post("/api/v1/security/login", environ_base=address,
                           json={"username": "operator1", "password": "x", "provider": "db"}).status_code == 401
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"


def test_sign_in_does_not_reveal_which_usernames_exist(client):
    known = client.post("/api/v1/security/login",
                        json={"username": "leader1", "password": "not-it", "provider": "db"})
    unknown = client.post("/api/v1/security/login",
                          json={"username": "no-such-user", "password": "not-it", "provider": "db"})
    assert known.status_code == unknown.status_code == 401
    assert known.get_json() == unknown.get_json()
    page = client.get("/login/")
    form = {"password": "not-it", "csrf_token": csrf_from(page.get_data(as_text=True))}
    first = client.post("/login/", data={**form, "username": "leader1"}, follow_redirects=True)
    second = client.post("/login/", data={**form, "username": "no-such-user"}, follow_redirects=True)
    strip = lambda html: html.replace("leader1", "").replace("no-such-user", "")  # noqa: E731
    assert "Invalid login" in first.get_data(as_text=True) or "登录" in first.get_data(as_text=True)
    assert strip(first.get_data(as_text=True)).count("alert") == strip(second.get_data(as_text=True)).count("alert")


def test_token_is_revoked_on_logout(client):
    token = api_token(client, "manager1")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/workorder/", headers=headers).status_code == 200
    assert client.post("/api/v1/session/logout", headers=headers).status_code == 200
    again = client.get("/api/v1/workorder/", headers=headers)
    assert again.status_code == 401 and "revoked" in again.get_json()["message"]


def test_token_stops_working_when_the_user_is_deactivated(app, client, db_session):
    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy import select

    token = api_token(client, "manager2")
    headers = {"Authorization": f"Bearer {token}"}
    user = db_session.scalar(select(User).where(User.username == "manager2"))
    user.active = False
    db_session.commit()
    try:
        assert client.get("/api/v1/workorder/", headers=headers).status_code == 401
    finally:
        user.active = True
        db_session.commit()


def test_expired_token_is_refused(app, client, db_session):
    from flask_jwt_extended import create_access_token

    with app.app_context():
        token = create_access_token(identity="4", expires_delta=dt.timedelta(seconds=-5))
    answer = client.get("/api/v1/workorder/", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and "expired" in answer.get_json()["message"]


def test_unknown_host_is_refused(client):
    assert client.get("/login/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login/", headers={"Host": "localhost:8080"}).status_code == 200


def test_weak_password_is_refused_when_an_admin_adds_a_user(db_session, login_as):
    from flask_appbuilder.security.sqla.models import Role, User
    from sqlalchemy import select

    admin = login_as("admin")
    form = admin.get("/users/add").get_data(as_text=True)
    role = db_session.scalar(select(Role).where(Role.name == "Operator"))
    base = {"first_name": "新", "last_name": "员工", "username": "weakling", "email": "weak@example.com",
            "active": "y", "roles": str(role.id), "csrf_token": csrf_from(form)}
    weak = admin.post("/users/add", data={**base, "password": "password1", "conf_password": "password1"})
    assert "10 characters" in weak.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(select(User).where(User.username == "weakling")) is None
    strong = admin.post("/users/add", data={**base, "password": "Strong#Pass2026", "conf_password": "Strong#Pass2026"})
    assert strong.status_code in (200, 302)
    db_session.rollback()
    assert db_session.scalar(select(User).where(User.username == "weakling")) is not None


def test_login_rate_limit_uses_redis_when_redis_url_is_set(database_url, tmp_path):
    """In a process of its own (the limiter storage is chosen at start-up)."""
    import redis

    prefix = f"gridcare-test-{uuid.uuid4().hex[:8]}"
    script = f"""
import json
from app import create_app
app = create_app(SQLALCHEMY_DATABASE_URI={database_url!r}, LOGIN_RATE_LIMIT="2 per minute",
                 RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX={prefix!r})
client = app.test_client()
codes = [client.post("/api/v1/security/login", json={{"username": "leader1", "password": "x",
         "provider": "db"}}).status_code for _ in range(3)]
print(json.dumps(codes))
"""
    env = dict(os.environ, GRIDCARE_INSTANCE_DIR=str(tmp_path), REDIS_URL="redis://127.0.0.1:6379/0")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [401, 401, 429]
    store = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    keys = store.keys(f"*LIMITER/{prefix}/*")
    assert keys, "no rate-limit counters in Redis"
    store.delete(*keys)


def test_the_embedded_server_sends_no_server_header(app):
    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from run import AnonymousServerHandler

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=AnonymousServerHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/login/") as answer:
            assert answer.status == 200
            assert answer.headers.get("Server") is None
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_a_form_posted_without_its_csrf_token_is_refused_with_one_plain_message(login_as, db_session):
    from app.models.jobs import JobDefinition
    from app.jobs.scheduler import ensure_default_jobs

    ensure_default_jobs(db_session)
    job = db_session.query(JobDefinition).filter_by(name="sla_sweep").one()
    admin = login_as("admin")
    # Every screen's form is checked by the one CSRFProtect: the job screen's "run now" and
    # the calendar's save alike, each with the same message and nothing done.
    for url, data in ((f"/jobdefinitionview/run/{job.id}", {}), ("/calendar/2099", {"holidays": "", "workdays": ""})):
        refused = admin.post(url, data=data)
        assert refused.status_code == 400, url
        assert "表单已过期，请刷新页面后重试" in refused.get_data(as_text=True), url
    db_session.rollback()
    assert db_session.get(JobDefinition, job.id).run_requested_at is None


@pytest.mark.databases("sqlite")  # the production defaults, on an SQLite file of its own
def test_production_hashes_passwords_with_argon2id_and_sqlite_waits_for_the_disk(tmp_path):
    """The suite signs in with a cheap hash and lets SQLite skip fsync (tests/conftest.py);
    an application started from the production configuration does neither."""
    script = (
        "import json, os, sqlalchemy as sa\n"
        "from app import create_app\n"
        "from app.extensions import appbuilder, db\n"
        "from flask_migrate import upgrade\n"
        "from app.security.access import sync_roles\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    upgrade(directory=app.extensions['migrate'].directory, revision='heads')\n"
        "    sync_roles(appbuilder)\n"
        "    role = appbuilder.sm.find_role('Admin')\n"
        "    user = appbuilder.sm.add_user('hash_check', 'H', 'C', 'h@example.com', role,\n"
        "                                  password='Strong#Pass2026')\n"
        "    method = user.password.split('$')[1]\n"
        "    db.session.remove()\n"
        "    with db.engine.connect() as conn:\n"
        "        sync = conn.exec_driver_sql('PRAGMA synchronous').scalar()\n"
        "    print(json.dumps({'hash': method, 'synchronous': sync}))\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SQLITE_SYNCHRONOUS", "PASSWORD_HASH_METHOD", "DATABASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}", GRIDCARE_INSTANCE_DIR=str(tmp_path),
               SCHEDULER_ENABLED="0", SECRET_KEY="production-like-secret-for-this-test")
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent,
                            env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {"hash": "argon2id", "synchronous": 2}  # 2 = FULL


@pytest.mark.databases("sqlite")
def test_the_suites_sqlite_database_skips_fsync(app):
    from app.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 0


@pytest.mark.parametrize("key, refused", [("change-me", True), ("x" * 31, True), ("x" * 32, False)])
def test_a_secret_key_under_32_bytes_is_refused_at_start_up(tmp_path, key, refused):
    """The key signs sessions and API tokens (HS256): a placeholder left in the environment
    file (deploy/gridcare.env.example has one) stops the start with a message saying why."""
    env = dict(os.environ, SECRET_KEY=key, GRIDCARE_INSTANCE_DIR=str(tmp_path),
               DATABASE_URL=f"sqlite:///{tmp_path / 'key.db'}", SCHEDULER_ENABLED="0")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "gridcare", "--help"],
                            cwd=Path(__file__).resolve().parent.parent, env=env, capture_output=True,
                            text=True, timeout=180)
    if refused:
        assert result.returncode != 0
        assert f"SECRET_KEY is {len(key)} bytes; it must be at least 32" in result.stderr
    else:
        assert result.returncode == 0, result.stderr[-2000:]
        assert "SECRET_KEY" not in result.stderr
