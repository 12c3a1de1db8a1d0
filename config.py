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


MIN_SECRET_KEY_BYTES = 32


def _secret_key() -> str:
    """Use SECRET_KEY, or generate one once and keep it under instance/ (never in the repo).
    A key shorter than 32 bytes is refused: it signs the sessions and the API tokens (HS256,
    RFC 7518 3.2), and a short one — a placeholder left in an environment file — can be guessed."""
    if os.environ.get("SECRET_KEY"):
        key = os.environ["SECRET_KEY"]
        length = len(key.encode())
        if length < MIN_SECRET_KEY_BYTES:
            raise SystemExit(f"SECRET_KEY is {length} bytes; it must be at least {MIN_SECRET_KEY_BYTES} "
                             "(make one with: python -c 'import secrets; print(secrets.token_hex(32))')")
        return key
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


def _json_map(name: str) -> dict[str, list[str]]:
    """A JSON object of the environment (directory group DN or claim value → GridCare role, or
    a list of roles), as Flask-AppBuilder's AUTH_ROLES_MAPPING; a clear error when malformed."""
    import json

    raw = os.environ.get(name, "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(value, dict) or not all(
            isinstance(role, str) or (isinstance(role, list) and all(isinstance(r, str) for r in role))
            for role in value.values()):
        raise ValueError(f'{name} must be a JSON object of role names, e.g. {{"cn=...": "DistrictManager"}}')
    return {str(key): [role] if isinstance(role, str) else role for key, role in value.items()}


AUTH_METHODS = {"db": 1, "ldap": 2, "oidc": 4}  # Flask-AppBuilder's AUTH_DB, AUTH_LDAP, AUTH_OAUTH


def _auth_method() -> str:
    method = os.environ.get("AUTH_METHOD", "db").strip().lower() or "db"
    if method not in AUTH_METHODS:
        raise ValueError(f"AUTH_METHOD must be one of {', '.join(AUTH_METHODS)}, not {method!r}")
    return method


def _oidc_providers() -> list[dict]:
    issuer = os.environ.get("OIDC_ISSUER", "").rstrip("/")
    if not issuer:
        return []
    return [{
        "name": "oidc", "icon": "fa-key", "token_key": "access_token",
        "remote_app": {
            "client_id": os.environ.get("OIDC_CLIENT_ID", ""),
            "client_secret": os.environ.get("OIDC_CLIENT_SECRET", ""),
            "server_metadata_url": f"{issuer}/.well-known/openid-configuration",
            # authorization code flow with PKCE (S256); Authlib adds and checks the nonce
            "client_kwargs": {"scope": os.environ.get("OIDC_SCOPE", "openid profile email phone"),
                              "code_challenge_method": "S256"},
        },
    }]


class Config:
    APP_NAME = "GridCare 供电所客户服务平台"
    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = _database_url()
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = _engine_options()
    # SQLite only: FULL writes each commit to disk before it returns (a power cut loses nothing
    # committed); the test suite sets OFF, as its databases are thrown away after the run.
    SQLITE_SYNCHRONOUS = os.environ.get("SQLITE_SYNCHRONOUS", "FULL")
    # Behind nginx (or another proxy): trust this many X-Forwarded-* hops (werkzeug ProxyFix).
    PROXY_FIX = _bool("PROXY_FIX", False)
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", "1"))
    # List screens count exactly up to this many rows; above it (PostgreSQL) they show the
    # planner's estimate, labelled "约 …".
    # Keep a user's permissions in each process this long (0 = read them at every request).
    PERMISSION_CACHE_SECONDS = float(os.environ.get("PERMISSION_CACHE_SECONDS", "0"))
    # Keep an intake API key found active in each process this long (0 = read it at every
    # request): a revoked key stops working everywhere at most this many seconds later.
    API_KEY_CACHE_SECONDS = float(os.environ.get("API_KEY_CACHE_SECONDS", "10"))
    # Order numbers taken by each process in blocks of this size (PostgreSQL): no hot
    # counter row; 1 = one number at a time (see app/workflow/numbering.py).
    ORDER_NUMBER_BLOCK = int(os.environ.get("ORDER_NUMBER_BLOCK", "20"))
    # Read the active rule sets' version stamp at most this often per process (0 = at every
    # run): a rule set saved in another process takes effect here at most this much later.
    RULES_STAMP_SECONDS = float(os.environ.get("RULES_STAMP_SECONDS", "1"))
    # Keep the administrators' clock targets in each process this long (0 = read them at
    # every registration): a target saved in another process applies here at most this much later.
    CLOCK_TARGETS_CACHE_SECONDS = float(os.environ.get("CLOCK_TARGETS_CACHE_SECONDS", "1"))
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
    # The dashboard opens on the month just ended during the first N days of a month.
    DASHBOARD_LAST_MONTH_DAYS = int(os.environ.get("DASHBOARD_LAST_MONTH_DAYS", "5"))
    DEFAULT_DEADLINE_WORKING_DAYS = int(os.environ.get("DEFAULT_DEADLINE_WORKING_DAYS", "3"))
    # Return visits (回访) may be recorded from resolution until this many days after evaluation.
    RETURN_VISIT_WINDOW_DAYS = int(os.environ.get("RETURN_VISIT_WINDOW_DAYS", "7"))
    # Demand types whose orders need their return visit before the team leader evaluates them
    # (comma-separated codes, e.g. "complaint,urgent"; none by default).
    RETURN_VISIT_REQUIRED_DEMAND_TYPES = os.environ.get("RETURN_VISIT_REQUIRED_DEMAND_TYPES", "")
    # The registration desk's customer look-up, per user (it matches phones masked to the caller).
    CUSTOMER_LOOKUP_RATE_LIMIT = os.environ.get("CUSTOMER_LOOKUP_RATE_LIMIT", "30 per minute")
    # The mobile app (/m/): how many orders and customer cards one sync sends to a phone at most.
    MOBILE_SYNC_ORDER_LIMIT = int(os.environ.get("MOBILE_SYNC_ORDER_LIMIT", "500"))
    MOBILE_SYNC_CUSTOMER_LIMIT = int(os.environ.get("MOBILE_SYNC_CUSTOMER_LIMIT", "2000"))

    # Flask-AppBuilder
    FAB_SECURITY_MANAGER_CLASS = "app.security.manager.GridCareSecurityManager"
    FAB_UPDATE_PERMS = False  # permissions are synced by `gridcare sync-roles`, not at every start
    # FAB's user/role REST API is off: users and roles are managed on the admin screens, and
    # that API answered 500 to malformed bodies (found by the access-matrix test, issue 6).
    FAB_ADD_SECURITY_API = False
    # Permissions are data in the repo (app/security/access.py, applied by `gridcare sync-roles`):
    # no screens of raw permission and view identifiers that a sync would overwrite anyway.
    FAB_ADD_SECURITY_PERMISSION_VIEW = False
    FAB_ADD_SECURITY_VIEW_MENU_VIEW = False
    FAB_ADD_SECURITY_PERMISSION_VIEWS_VIEW = False
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 200
    FAB_ROLES_MAPPING: dict = {}
    # --- Sign-on (docs/deploy.md "Single sign-on"): db (the embedded demo), ldap or oidc ----
    AUTH_METHOD = _auth_method()
    AUTH_TYPE = AUTH_METHODS[AUTH_METHOD]
    # The database administrator who may still sign in with a password while AUTH_METHOD is
    # ldap or oidc (break-glass; every such sign-in is audited); empty = none.
    AUTH_BREAK_GLASS_ADMIN = os.environ.get("AUTH_BREAK_GLASS_ADMIN", "")
    # A directory user's session and JWTs are checked against the directory at most this often.
    DIRECTORY_CHECK_SECONDS = float(os.environ.get("DIRECTORY_CHECK_SECONDS", "300"))
    AUTH_ROLES_SYNC_AT_LOGIN = True  # directory groups / the role claim decide at every login
    AUTH_USER_REGISTRATION_ROLE = "Public"
    # LDAP (python-ldap): bind with LDAP_BIND_DN, search LDAP_USER_BASE, bind as the user
    AUTH_LDAP_SERVER = os.environ.get("LDAP_URL", "")
    AUTH_LDAP_BIND_USER = os.environ.get("LDAP_BIND_DN", "")
    AUTH_LDAP_BIND_PASSWORD = os.environ.get("LDAP_BIND_PASSWORD", "")
    AUTH_LDAP_SEARCH = os.environ.get("LDAP_USER_BASE", "")
    AUTH_LDAP_SEARCH_FILTER = os.environ.get("LDAP_USER_FILTER", "")
    AUTH_LDAP_UID_FIELD = os.environ.get("LDAP_UID_FIELD", "uid")
    AUTH_LDAP_GROUP_FIELD = "memberOf"
    AUTH_LDAP_USE_TLS = _bool("LDAP_START_TLS", False)
    # groups are also found by searching LDAP_GROUP_BASE for entries naming the user as member
    # (OpenLDAP without the memberOf overlay); empty = the parent of LDAP_USER_BASE
    LDAP_GROUP_BASE = os.environ.get("LDAP_GROUP_BASE", "")
    LDAP_PHONE_FIELD = os.environ.get("LDAP_PHONE_FIELD", "telephoneNumber")
    LDAP_EMPLOYEE_NUMBER_FIELD = os.environ.get("LDAP_EMPLOYEE_NUMBER_FIELD", "employeeNumber")
    LDAP_GROUP_ROLE_MAP = _json_map("LDAP_GROUP_ROLE_MAP")
    # OpenID Connect (Authlib): the issuer's discovery document gives the endpoints and keys
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "").rstrip("/")
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
    OIDC_ROLE_CLAIM = os.environ.get("OIDC_ROLE_CLAIM", "roles")
    OIDC_EMPLOYEE_CLAIM = os.environ.get("OIDC_EMPLOYEE_CLAIM", "employee_number")
    OIDC_ROLE_MAP = _json_map("OIDC_ROLE_MAP")
    OAUTH_PROVIDERS = _oidc_providers() if AUTH_METHOD == "oidc" else []
    AUTH_USER_REGISTRATION = AUTH_METHOD != "db"  # directory users are created at first login
    AUTH_ROLES_MAPPING = (LDAP_GROUP_ROLE_MAP if AUTH_METHOD == "ldap"
                          else OIDC_ROLE_MAP if AUTH_METHOD == "oidc" else {})
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
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
    # Password hashes: Argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane; about 26 ms a
    # sign-in) or any werkzeug method; older hashes are replaced at the next sign-in
    # (app/security/passwords.py). PASSWORD_ARGON2_* raise the parameters, never below OWASP's.
    FAB_PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "argon2id")
    PASSWORD_ARGON2_MEMORY_KIB = int(os.environ.get("PASSWORD_ARGON2_MEMORY_KIB", "19456"))
    PASSWORD_ARGON2_TIME_COST = int(os.environ.get("PASSWORD_ARGON2_TIME_COST", "2"))
    PASSWORD_ARGON2_PARALLELISM = int(os.environ.get("PASSWORD_ARGON2_PARALLELISM", "1"))
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
