"""One place that turns domain errors into answers: 4xx JSON on the APIs, a flash message
and a redirect on the screens.  Bad input never becomes a 500."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, request
from flask_babel import gettext, lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.workflow.errors import DomainError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    from app.arguments import BadArgument

    @app.errorhandler(BadArgument)
    def _bad_argument(error: BadArgument):  # type: ignore[no-untyped-def]
        # A bad URL argument: a 400 naming it (on a screen, a redirect back could loop).
        if _wants_json():
            return jsonify({"message": error.message, "field": error.field}), 400
        return error_page(400, error.message), 400

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):  # type: ignore[no-untyped-def]
        from app.extensions import db

        db.session.rollback()
        if _wants_json():
            body = {"message": error.message}
            if error.field:
                body["field"] = error.field
            return jsonify(body), error.status
        flash(error.message, "danger")
        return redirect(request.referrer or "/")

    @app.errorhandler(StaleDataError)
    def _stale(error: StaleDataError):  # type: ignore[no-untyped-def]
        from app.extensions import db

        db.session.rollback()
        message = "the record was changed by someone else; reload and try again"
        if _wants_json():
            return jsonify({"message": message}), 409
        flash(message, "danger")
        return redirect(request.referrer or "/")

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):  # type: ignore[no-untyped-def]
        # Every form is checked by the one CSRFProtect (app/__init__.py); an expired or
        # missing token gets one plain message, never the form's action.
        message = gettext("The form has expired; reload the page and try again.")
        if _wants_json():
            return jsonify({"message": message, "field": "csrf_token"}), 400
        return error_page(400, message), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            wait = _wait_seconds(error)
            if wait:  # rate limited: say how long, as the Retry-After header does
                return jsonify({"message": f"too many attempts; try again in {wait} s", "retry_after": wait}), 429, \
                    {"Retry-After": str(wait)}
            return jsonify({"message": error.description or error.name}), error.code
        if error.code is None or error.code < 400:
            return error
        return error_page(error.code, _own_description(error)), error.code, _retry_headers(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
        from app.extensions import db

        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if _wants_json():
            return jsonify({"message": "internal error; it has been logged"}), 500
        return error_page(500, None), 500


# Titles and explanations of the error pages in the viewer's language (werkzeug's are English).
_TITLES = {
    400: (_l("The request cannot be answered"), _l("Something in the address or the form is not right.")),
    401: (_l("Please sign in"), _l("This page needs you to sign in first.")),
    403: (_l("Access denied"), _l("Your role may not open this page or act on this record.")),
    404: (_l("Page not found"), _l("There is no such page or record, or it has been removed.")),
    405: (_l("Not allowed here"), _l("This page does not take this kind of request.")),
    413: (_l("Too large"), _l("What was sent is larger than allowed.")),
    429: (_l("Too many attempts"), _l("Too many attempts in a short time.")),
    500: (_l("Internal error"), _l("Something went wrong on the server; it has been logged.")),
}


def _own_description(error: HTTPException) -> str | None:
    """The error's own message, unless it is werkzeug's English default text."""
    description = error.description
    if not description or description == type(error).description:
        return None
    if getattr(error, "limit", None) is not None:  # Flask-Limiter's text for the logs
        return None
    return str(description)


def _wait_seconds(error: HTTPException) -> int | None:
    """How long a rate-limited caller waits (429): until the limit's window resets."""
    if error.code != 429:
        return None
    from app.clock import now
    from app.extensions import appbuilder

    try:
        current = appbuilder.sm.limiter.current_limit
    except Exception:  # noqa: BLE001 - no limiter state in this request
        current = None
    if current is None:
        return None
    return max(1, int(current.reset_at - now().timestamp()))


def _retry_headers(error: HTTPException) -> dict[str, str]:
    wait = _wait_seconds(error)
    return {"Retry-After": str(wait)} if wait else {}


def error_page(code: int, description: str | None) -> str:
    """A plain page for an error, in the viewer's language: what happened, what to do."""
    from flask import render_template

    title, explanation = _TITLES.get(code, (_l("Something went wrong"), _l("The request could not be answered.")))
    wait = None
    if code == 429:
        from werkzeug.exceptions import TooManyRequests

        seconds = _wait_seconds(TooManyRequests())
        if seconds:
            minutes, rest = divmod(seconds, 60)
            wait = (gettext("Try again in %(minutes)d min %(seconds)d s.", minutes=minutes, seconds=rest)
                    if minutes else gettext("Try again in %(seconds)d s.", seconds=rest))
    return render_template("gridcare/error.html", code=code, title=str(title), explanation=str(explanation),
                           description=description, wait=wait)
