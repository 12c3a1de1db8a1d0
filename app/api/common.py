"""Helpers shared by the staff APIs: the current actor, JSON body parsing, and GET endpoints
of one shape."""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from marshmallow import Schema

from flask import request
from flask_appbuilder.api import expose, protect

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


def get_endpoint(name: str, url: str, answer: Callable[..., Any], *, description: str, summary: str,
                 result: str, schema: type[Schema], parameters: Sequence[str] = (),
                 responses: Mapping[int, str] | None = None) -> Any:
    """A GET endpoint answering 200 with ``{"result": answer(actor, **url_arguments)}`` for the
    caller, dumped through ``schema`` (an OpenAPI component of the API), protected and ``safe``
    like the hand-written ones, with its OpenAPI description (``summary``, ``parameters`` as
    flow-style YAML, ``result`` describing the 200 answer and the other ``responses`` by status).
    ``name`` must be the attribute it is bound to: the permission (``method_permission_name``)
    and the route's endpoint are looked up by it."""

    def endpoint(self: Any, **kwargs: Any) -> Any:
        return self.response(200, **schema().dump({"result": answer(api_actor(), **kwargs)}))

    lines = [description, "---", "get:", f"  summary: {summary}"]
    if parameters:
        lines += ["  parameters:", *(f"  - {parameter}" for parameter in parameters)]
    lines += ["  responses:", f"    200: {{description: {result}, content: {{application/json: {{schema: "
                 f"{{$ref: '#/components/schemas/{schema.__name__}'}}}}}}}}",
              *(f"    {status}: {text}" for status, text in (responses or {}).items())]
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = "\n".join(lines)
    return expose(url, methods=["GET"])(protect()(safe(endpoint)))
