"""One place that turns domain errors into answers: 4xx JSON on the APIs, a flash message
and a redirect on the screens.  Bad input never becomes a 500."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import BadRequest, HTTPException

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
        return BadRequest(description=error.message)

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
        return BadRequest(description=message)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            return jsonify({"message": error.description or error.name}), error.code
        return error

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):  # type: ignore[no-untyped-def]
        from app.extensions import db

        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        if _wants_json():
            return jsonify({"message": "internal error; it has been logged"}), 500
        return "Internal error; it has been logged.", 500
