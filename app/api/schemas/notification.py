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


@body
class NotificationPreferenceSchema(Schema):
    """How the caller is told besides the in-app list: mail, SMS, and quiet hours (station
    time, ``HH:MM``; mails and SMS wait until they end)."""

    by_mail = fields.Boolean()
    by_sms = fields.Boolean()
    sms_number = fields.String(allow_none=True, metadata={"description": "empty: the staff profile's mobile"})
    quiet_start = fields.String(allow_none=True, metadata={"description": "HH:MM"})
    quiet_end = fields.String(allow_none=True, metadata={"description": "HH:MM"})


NotificationPreferenceResultSchema = result_of(NotificationPreferenceSchema, "NotificationPreferenceResultSchema")


COMPONENTS = (NotificationSchema, NotificationListSchema, NotificationResultSchema,
              NotificationPreferenceSchema, NotificationPreferenceResultSchema)
