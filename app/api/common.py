"""Helpers shared by the staff APIs: the current actor and JSON body parsing."""

from __future__ import annotations

from typing import Any

from flask import request

from app.extensions import appbuilder
from app.workflow.actor import Actor
from app.workflow.errors import Forbidden, InvalidInput


def api_actor() -> Actor:
    actor = appbuilder.sm.current_actor()
    if actor is None:
        raise Forbidden("sign in first")
    return actor


def json_body() -> dict[str, Any]:
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("the body is not valid JSON")
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    return data


def iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def safe(f: Any) -> Any:
    """Like Flask-AppBuilder's ``safe``, but domain errors keep their 4xx status and message."""
    import functools
    import logging

    from sqlalchemy.orm.exc import StaleDataError
    from werkzeug.exceptions import HTTPException

    from app.extensions import db
    from app.workflow.errors import DomainError

    log = logging.getLogger(__name__)

    @functools.wraps(f)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return f(self, *args, **kwargs)
        except DomainError as error:
            db.session.rollback()
            extra = {"field": error.field} if error.field else {}
            return self.response(error.status, message=error.message, **extra)
        except StaleDataError:
            db.session.rollback()
            return self.response(409, message="the record was changed by someone else; reload and try again")
        except HTTPException as error:
            db.session.rollback()
            return self.response(error.code or 400, message=error.description or error.name)
        except Exception:
            db.session.rollback()
            log.exception("unhandled API error")
            return self.response(500, message="internal error; it has been logged")

    return wrapper
