"""Hardening of the web layer: security headers with a nonce-based CSP, no caching of pages
that may hold personal data, allowed hosts, rate-limited logins on both the form and the
API, JWT revocation (logout of a whole sign-in session, deactivated users) and password complexity."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from typing import Any

from flask import Flask, abort, current_app, g, jsonify, request

from app import clock

STATIC_PREFIXES = ("/static/", "/appbuilder/static/", "/static/appbuilder/")


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def password_complexity(password: str) -> None:
    """At least 10 characters and three of: upper case, lower case, digits, symbols."""
    from wtforms.validators import ValidationError

    classes = sum(bool(re.search(p, password)) for p in (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z0-9]"))
    if len(password) < 10 or classes < 3:
        raise ValidationError(
            "The password needs at least 10 characters and three of: upper case, lower case, "
            "digits, symbols."
        )


def _allowed_hosts() -> list[str]:
    raw = current_app.config.get("ALLOWED_HOSTS", "")
    return [h.strip().lower() for h in raw.split(",") if h.strip()]


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.before_request
    def _check_host() -> None:
        allowed = _allowed_hosts()
        if not allowed or "*" in allowed:
            return
        host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower()
        if host not in allowed:
            abort(400, description="unknown host")

    @app.after_request
    def _headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(self)")
        if not request.path.startswith(STATIC_PREFIXES):
            # Every screen and API answer may carry personal data: never store it.
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        if response.mimetype == "text/html":
            nonce = csp_nonce()
            tiles = current_app.config.get("MAP_TILE_ORIGIN", "")
            headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; "
                f"script-src 'self' 'nonce-{nonce}'; "
                "style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob: {tiles}".rstrip() + "; "
                "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                "form-action 'self'; base-uri 'self'; object-src 'none'",
            )
        if current_app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response


def init_security(app: Flask, appbuilder: Any) -> None:
    """Parts that need the security manager: login rate limits and JWT revocation."""
    sm = appbuilder.sm
    # Two limits, read per request so settings apply without a restart: per account and
    # address (guessing one password), and per address (a station office shares one NAT).
    per_account = lambda: current_app.config["LOGIN_RATE_LIMIT"]  # noqa: E731
    per_address = lambda: current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"]  # noqa: E731
    exempt = lambda: not current_app.config.get("LOGIN_RATE_LIMITED", True)  # noqa: E731
    message = "too many sign-in attempts; wait and try again"
    for view in appbuilder.baseviews:
        name = view.__class__.__name__
        if name in ("AuthDBView", "AuthLDAPView", "GridCareAuthOAuthView", "SecurityApi", "GridCareSecurityApi") and getattr(view, "blueprint", None) is not None:
            # Only failed sign-ins count (``deduct_when``): a district manager signing in ten
            # times in five minutes is never locked out; ten wrong passwords are.
            sm.limiter.limit(per_account, methods=["POST"], exempt_when=exempt, deduct_when=sign_in_failed,
                             key_func=_address_and_username, error_message=message)(view.blueprint)
            sm.limiter.limit(per_address, methods=["POST"], exempt_when=exempt, deduct_when=sign_in_failed,
                             error_message=message)(view.blueprint)

    @sm.jwt_manager.additional_claims_loader
    def _session_claim(_identity: Any) -> dict[str, Any]:
        return {SESSION_CLAIM: sign_in_session()}

    @sm.jwt_manager.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        from flask_appbuilder.security.sqla.models import User
        from sqlalchemy import exists, select

        from app.extensions import db
        from app.models.security import RevokedToken

        if not str(payload.get("sub", "")).isdigit():
            return True
        # The token itself, or the whole sign-in session it belongs to (logout), is revoked;
        # asked in the same statement that loads the user (one round trip, every request).
        names = [name for name in (payload.get("jti"), payload.get(SESSION_CLAIM)) if name]
        row = db.session.execute(
            select(User, exists().where(RevokedToken.jti.in_(names)))
            .where(User.id == int(payload["sub"]))).first()
        if row is None:
            return True
        user, revoked = row
        # Held for the rest of the request: the session's identity map keeps only weak
        # references, and the user lookup that follows (``load_user``) finds it there
        # instead of loading it again.
        g.jwt_user = user
        # A deactivated user's tokens stop working at once.
        return bool(revoked) or not user.active

    @sm.jwt_manager.revoked_token_loader
    def _revoked_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return jsonify({"message": "the token has been revoked; sign in again"}), 401

    @sm.jwt_manager.expired_token_loader
    def _expired_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        return jsonify({"message": "the token has expired; sign in again"}), 401

    @sm.jwt_manager.invalid_token_loader
    def _invalid_answer(reason: str) -> Any:
        return jsonify({"message": f"invalid token: {reason}"}), 401

    @sm.jwt_manager.user_lookup_error_loader
    def _user_gone_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> Any:
        # deactivated, or no longer listed by the directory (app/security/signon.py)
        return jsonify({"message": "this account may no longer sign in; sign in again"}), 401

    @sm.jwt_manager.unauthorized_loader
    def _missing_answer(reason: str) -> Any:
        return jsonify({"message": "sign in first: " + reason}), 401


def sign_in_failed(response: Any) -> bool:
    """Whether this sign-in attempt failed: the API answers 4xx; the form signs the user in
    (a session) or sends them back to the form with a message."""
    if request.path.startswith("/api/"):
        return response.status_code >= 400
    from flask_login import current_user

    return not getattr(current_user, "is_authenticated", False)


def _address_and_username() -> str:
    from flask_limiter.util import get_remote_address

    username = request.form.get("username") or ""
    if not username and request.is_json:
        body = request.get_json(silent=True)
        username = str(body.get("username", "")) if isinstance(body, dict) else ""
    return f"{get_remote_address()}|{username.strip().lower()[:64]}"


# Every token minted by one API sign-in — its access token, its refresh token and the access
# tokens that refresh token mints later — carries the same ``sid`` claim, so logging out
# revokes all of them: a ``RevokedToken`` row names either one token (its jti) or a whole
# sign-in session (its sid; both are random UUIDs).
SESSION_CLAIM = "sid"


def sign_in_session() -> str:
    """The sign-in session of the tokens being minted in this request: the one of the
    refresh token presented (``/security/refresh``), else a new one (``/security/login``)."""
    from flask_jwt_extended import get_jwt

    try:
        inherited = get_jwt().get(SESSION_CLAIM)
    except RuntimeError:  # no token verified in this request: a sign-in
        inherited = None
    if inherited:
        return str(inherited)
    if "sign_in_session" not in g:
        g.sign_in_session = str(uuid.uuid4())
    return g.sign_in_session


def revoke_current_token() -> None:
    """Logout: the presented token and every other token of its sign-in session (refresh
    token included) stop working at once."""
    from flask_jwt_extended import get_jwt

    from app.extensions import db
    from app.models.security import RevokedToken

    claims = get_jwt()
    expires = dt.datetime.fromtimestamp(claims["exp"], dt.timezone.utc) if "exp" in claims else None
    db.session.add(RevokedToken(jti=claims["jti"], user_id=int(claims["sub"]), expires_at=expires))
    session_id = claims.get(SESSION_CLAIM)
    if session_id and not db.session.query(RevokedToken.id).filter_by(jti=session_id).first():
        refresh_lifetime = current_app.config.get("JWT_REFRESH_TOKEN_EXPIRES", dt.timedelta(days=30))
        if not isinstance(refresh_lifetime, dt.timedelta):
            refresh_lifetime = dt.timedelta(seconds=int(refresh_lifetime or 0) or 30 * 86400)
        db.session.add(RevokedToken(jti=session_id, user_id=int(claims["sub"]),
                                    expires_at=clock.now() + refresh_lifetime))
    db.session.commit()
