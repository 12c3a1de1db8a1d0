"""The production pieces: gunicorn's configuration loads and serves the WSGI entry point,
and ProxyFix takes the client's address and scheme from the proxy's headers."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

from flask import request, request_started

ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_config_takes_its_settings_from_the_environment(monkeypatch):
    from gunicorn.config import Config

    monkeypatch.setenv("GUNICORN_WORKERS", "7")
    monkeypatch.setenv("GUNICORN_TIMEOUT", "45")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.5")
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    cfg = Config()
    for name, value in settings.items():
        if name in cfg.settings:
            cfg.set(name, value)  # gunicorn's own validators check every value
    assert cfg.workers == 7
    assert cfg.timeout == 45
    assert cfg.forwarded_allow_ips == ["10.0.0.5"]
    assert "%(D)s" in cfg.access_log_format


def test_gunicorn_check_config_loads_the_wsgi_app(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    env.update(GRIDCARE_INSTANCE_DIR=str(tmp_path), SECRET_KEY="x" * 32, GUNICORN_WORKERS="1")
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "-c", "gunicorn.conf.py",
                             "wsgi:app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]


def _seen(app, client, headers):
    seen = {}

    def _record(sender, **extra):  # noqa: ANN001
        seen.update(addr=request.remote_addr, scheme=request.scheme)

    request_started.connect(_record, app)
    try:
        assert client.get("/login/", headers=headers).status_code == 200
    finally:
        request_started.disconnect(_record, app)
    return seen


def test_proxy_fix_trusts_the_forwarded_headers_only_when_enabled(app):
    from app import install_proxy_fix

    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    client = app.test_client()
    assert _seen(app, client, headers) == {"addr": "127.0.0.1", "scheme": "http"}
    original = app.wsgi_app
    try:
        install_proxy_fix(app)
        assert _seen(app, client, headers) == {"addr": "203.0.113.7", "scheme": "https"}
    finally:
        app.wsgi_app = original


def _permission_queries(app, client):
    from sqlalchemy import event

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    seen = []

    def _count(conn, cursor, statement, *args):  # noqa: ANN001
        if "ab_permission_view_role" in statement:
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", _count)
    try:
        assert client.get("/workorderview/list/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", _count)
    return len(seen)


def test_permission_cache_spares_the_permission_query_across_requests(app, login_as):
    from app.security import manager

    client = login_as("leader1")
    before = app.config.get("PERMISSION_CACHE_SECONDS")
    try:
        app.config["PERMISSION_CACHE_SECONDS"] = 0
        assert _permission_queries(app, client) >= 1
        assert _permission_queries(app, client) >= 1  # read again at every request
        app.config["PERMISSION_CACHE_SECONDS"] = 30
        manager._PER_USER.clear()
        _permission_queries(app, client)
        assert _permission_queries(app, client) == 0  # the second request uses the cache
    finally:
        app.config["PERMISSION_CACHE_SECONDS"] = before
        manager._PER_USER.clear()
