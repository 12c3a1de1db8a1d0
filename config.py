"""Settings of GridCare, every one overridable by an environment variable.

The defaults give the embedded installation of ``python run.py``: SQLite under
``instance/``, an in-process scheduler, mail to an outbox folder.  Production sets
``DATABASE_URL``, ``SECRET_KEY``, ``REDIS_URL`` and ``SMTP_URL`` in the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("GRIDCARE_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """Use SECRET_KEY, or generate one once and keep it under instance/ (never in the repo)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        # Accept the short forms operators type; always use the drivers we ship.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        elif url.startswith("mysql://") or url.startswith("mariadb://"):
            url = "mysql+pymysql://" + url.split("://", 1)[1]
        return url
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{INSTANCE_DIR / 'gridcare.db'}"


def _engine_options() -> dict:
    """Connection pool per process: gunicorn workers x (DB_POOL_SIZE + DB_MAX_OVERFLOW) must
    stay below the server's max_connections (or go through PgBouncer)."""
    options: dict = {"pool_pre_ping": True}
    if not _database_url().startswith("sqlite"):
        options.update(pool_size=int(os.environ.get("DB_POOL_SIZE", "5")),
                       max_overflow=int(os.environ.get("DB_MAX_OVERFLOW", "5")),
                       pool_recycle=int(os.environ.get("DB_POOL_RECYCLE", "1800")),
                       pool_timeout=float(os.environ.get("DB_POOL_TIMEOUT", "10")))
    return options


class Config:
    APP_NAME = "GridCare 供电所客户服务平台"
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = _engine_options()
    # Behind nginx (or another proxy): trust this many X-Forwarded-* hops (werkzeug ProxyFix).
    PROXY_FIX = _bool("PROXY_FIX", False)
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "1"))
    # List screens count exactly up to this many rows; above it (PostgreSQL) they show the
    # planner's estimate, labelled "约 …".
    # Keep a user's permissions in each process this long (0 = read them at every request).
    PERMISSION_CACHE_SECONDS = float(os.environ.get("PERMISSION_CACHE_SECONDS", "0"))
    LIST_COUNT_ESTIMATE_THRESHOLD = int(os.environ.get("LIST_COUNT_ESTIMATE_THRESHOLD", "10000"))

    PORT = int(os.environ.get("PORT", "8080"))
    REDIS_URL = os.environ.get("REDIS_URL", "")
    SMTP_URL = os.environ.get("SMTP_URL", "")
    DOCUMENT_DIR = os.environ.get("DOCUMENT_DIR", str(INSTANCE_DIR / "documents"))
    OUTBOX_DIR = os.environ.get("OUTBOX_DIR", str(INSTANCE_DIR / "outbox"))
    # Document store limits (photos: JPEG/PNG/WebP; videos: MP4)
    DOCUMENT_MAX_PHOTO_BYTES = int(os.environ.get("DOCUMENT_MAX_PHOTO_BYTES", str(10 * 1024 * 1024)))
    DOCUMENT_MAX_VIDEO_BYTES = int(os.environ.get("DOCUMENT_MAX_VIDEO_BYTES", str(200 * 1024 * 1024)))
    DOCUMENT_THUMBNAIL_PX = int(os.environ.get("DOCUMENT_THUMBNAIL_PX", "320"))
    # Energy services
    CAPACITY_LOAD_RATIO = os.environ.get("CAPACITY_LOAD_RATIO", "0.8")  # allowed load of rated kVA
    VALLEY_SHIFT_THRESHOLD_PP = os.environ.get("VALLEY_SHIFT_THRESHOLD_PP", "5")  # percentage points
    PUSH_SENDER = os.environ.get("PUSH_SENDER", "outbox")  # outbox | sms_gateway
    SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
    SMS_GATEWAY_KEY = os.environ.get("SMS_GATEWAY_KEY", "")
    SCHEDULER_ENABLED = _bool("SCHEDULER_ENABLED", True)
    # The scheduler's lease: a standby process takes over this long after the active one dies.
    SCHEDULER_LEASE_SECONDS = float(os.environ.get("SCHEDULER_LEASE_SECONDS", "30"))
    SCHEDULER_RECONCILE_SECONDS = float(os.environ.get("SCHEDULER_RECONCILE_SECONDS", "5"))
    SYNC_INBOX_DIR = os.environ.get("SYNC_INBOX_DIR", str(INSTANCE_DIR / "inbox"))
    # SLA warning levels in percent of the allowed time; overdue always follows.
    SLA_WARNING_LEVELS = os.environ.get("SLA_WARNING_LEVELS", "50,75,90")
    # Mail SLA warnings too: "auto" (when SMTP_URL is set), "1" (outbox when no SMTP) or "0".
    SLA_MAIL = os.environ.get("SLA_MAIL", "auto")
    DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "GridCare#2026")

    # Work-order policy
    REOPEN_WINDOW_DAYS = int(os.environ.get("REOPEN_WINDOW_DAYS", "7"))
    DEFAULT_DEADLINE_WORKING_DAYS = int(os.environ.get("DEFAULT_DEADLINE_WORKING_DAYS", "3"))

    # Flask-AppBuilder
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.GridCareSecurityManager"
    FAB_UPDATE_PERMS = False  # permissions are synced by `gridcare sync-roles`, not at every start
    # FAB's user/role REST API is off: users and roles are managed on the admin screens, and
    # that API answered 500 to malformed bodies (found by the access-matrix test, issue 6).
    FAB_ADD_SECURITY_API = False
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 200
    FAB_ROLES_MAPPING: dict = {}
    AUTH_TYPE = 1  # AUTH_DB
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    AUTH_USER_REGISTRATION = False
    AUTH_RATE_LIMITED = False  # Flask-AppBuilder's fixed limit; ours (below) is per account
    LOGIN_RATE_LIMITED = _bool("LOGIN_RATE_LIMITED", True)
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per 5 minute")
    LOGIN_RATE_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_RATE_LIMIT_PER_ADDRESS", "200 per 5 minute")
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True

    BABEL_DEFAULT_LOCALE = "zh"
    BABEL_DEFAULT_FOLDER = "translations"
    LANGUAGES = {
        "zh": {"flag": "cn", "name": "中文"},
        "en": {"flag": "gb", "name": "English"},
    }

    JWT_ACCESS_TOKEN_EXPIRES = int(os.environ.get("JWT_ACCESS_TOKEN_EXPIRES", "3600"))
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    # Hosts this server answers for (comma-separated; "*" for any, behind a trusted proxy).
    ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1")
    AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "1095"))
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = 8 * 3600

    LOCAL_TIMEZONE = "Asia/Shanghai"

    # Intake across zones: "direct" (the intake API on the core, the embedded default) or
    # "queue" (a gateway in the internet zone publishes to RabbitMQ; `gridcare consume`
    # registers; the core's own intake POST then refuses with 404).
    INTAKE_MODE = os.environ.get("INTAKE_MODE", "direct").strip().lower()
    AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    # Every exchange and queue name starts with this (several installations on one broker).
    AMQP_PREFIX = os.environ.get("AMQP_PREFIX", "gridcare")
    # How often each consumer sends the valid API keys (hashed) to the gateway.
    INTAKE_KEY_SYNC_SECONDS = float(os.environ.get("INTAKE_KEY_SYNC_SECONDS", "30"))
