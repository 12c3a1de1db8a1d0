"""Response bodies of the notification API (``/api/v1/notification``)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.api.schemas import IsoDateTime, body, result_of


@body
class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    created_at = IsoDateTime()
    read_at = IsoDateTime(allow_none=True)


@body
class NotificationListSchema(Schema):
    result = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()


NotificationResultSchema = result_of(NotificationSchema, "NotificationResultSchema")


COMPONENTS = (NotificationSchema, NotificationListSchema, NotificationResultSchema)
