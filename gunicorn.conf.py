"""gunicorn settings of a GridCare web server, every one from the environment.

    gunicorn -c gunicorn.conf.py wsgi:app

The web workers are stateless (sessions are signed cookies, rate limits live in Redis when
REDIS_URL is set), so a site scales by adding machines behind nginx.
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: the app is database-bound; (2 x cores) + 1 is gunicorn's advice.
workers = _int("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1)
threads = _int("GUNICORN_THREADS", 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread" if threads > 1 else "sync")
# A request that takes longer than this is killed (uploads of 200 MB videos included).
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then so that a slow leak never takes a server down.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 500)
# Load the app once in the master and fork: faster starts, shared pages. Connections are
# opened lazily per worker (SQLAlchemy's pool is created after the fork on first use).
preload_app = os.environ.get("GUNICORN_PRELOAD", "0").lower() in {"1", "true", "yes", "on"}
# Only the nginx in front may set X-Forwarded-*; gunicorn passes them on to ProxyFix.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proxy_allow_ips = forwarded_allow_ips

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# client, time, request line, status, bytes, duration in microseconds, user agent, request id
access_log_format = os.environ.get(
    "GUNICORN_ACCESS_LOG_FORMAT",
    '%({x-forwarded-for}i)s %(h)s %(t)s "%(r)s" %(s)s %(B)s %(D)sus "%(a)s" %({x-request-id}i)s',
)
# Headers and request line limits (defaults); the body size limit is nginx's client_max_body_size.
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
proc_name = "gridcare-web"


def post_fork(server, worker):  # noqa: ANN001, ARG001
    """Never share a database connection opened in the master with a forked worker."""
    try:
        from app.extensions import db

        if preload_app:
            from wsgi import app

            with app.app_context():
                db.engine.dispose(close=False)
    except Exception:  # pragma: no cover - a worker must start even if this fails
        server.log.exception("post_fork: could not reset the database pool")
