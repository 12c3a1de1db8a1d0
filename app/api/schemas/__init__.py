"""The REST API's typed contract: one module of marshmallow schemas per domain (the same names
as ``app/api/<domain>.py``), registered as OpenAPI components by each API and used to build its
response bodies, so the document at ``/api/v1/_openapi`` and the answers cannot drift apart.

Response schemas are declared with :func:`body`: every field is present in every answer
(``required`` in the document) unless declared ``optional``; a field that may be ``null`` says
``allow_none=True`` (``nullable: true`` in the document)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from marshmallow import Schema, fields

S = TypeVar("S", bound=type[Schema])


def body(cls: S) -> S:
    """Mark every field of a response schema required, except those with ``optional`` metadata."""
    for field in cls._declared_fields.values():
        field.required = not field.metadata.get("optional", False)
    return cls


def optional(**metadata: Any) -> dict[str, Any]:
    return {"metadata": {"optional": True, **metadata}}


class IsoDateTime(fields.DateTime):
    """A time as ISO 8601 text; a value a service already rendered as text passes through."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        return super()._serialize(value, attr, obj, **kwargs)


class IsoDate(fields.Date):
    """A date as ``YYYY-MM-DD``; text passes through."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, dt.datetime):
            value = value.date()
        return super()._serialize(value, attr, obj, **kwargs)


def result_list(item: type[Schema], name: str) -> type[Schema]:
    """``{"result": [item, …]}``: the answer of a list, as the component ``name``."""
    return body(Schema.from_dict({"result": fields.List(fields.Nested(item))}, name=name))


def result_of(item: type[Schema], name: str) -> type[Schema]:
    """``{"result": item}``: the answer about one record, as the component ``name``."""
    return body(Schema.from_dict({"result": fields.Nested(item)}, name=name))


def values(enum: Any) -> list[str]:
    return [member.value for member in enum]


@body
class MessageSchema(Schema):
    """An answer that only says what happened (and errors: ``{"message": …}``)."""

    message = fields.String()
    field = fields.String(**optional(description="errors: the argument or field at fault"))


@body
class CodeNameSchema(Schema):
    """A configured choice: its code and its label."""

    code = fields.String()
    name = fields.String()


@body
class TimelineEntrySchema(Schema):
    """One step of a record's history: the action, the states before and after, who and when."""

    action = fields.String()
    from_state = fields.String(data_key="from", attribute="from", allow_none=True)
    to_state = fields.String(data_key="to", attribute="to", allow_none=True)
    actor = fields.String(allow_none=True)
    at = IsoDateTime(allow_none=True)
    note = fields.String(allow_none=True)
