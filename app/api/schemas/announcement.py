"""Response bodies of the announcement API (``/api/v1/announcement``)."""

from __future__ import annotations

from marshmallow import Schema, fields

from app.api.schemas import IsoDateTime, body, result_of


@body
class AnnouncementAttachmentSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    url = fields.String()


@body
class AnnouncementSchema(Schema):
    """An announcement in a list, with the caller's read state."""

    id = fields.Integer()
    title = fields.String()
    publish_from = IsoDateTime()
    publish_until = IsoDateTime(allow_none=True)
    read = fields.Boolean()
    read_at = IsoDateTime(allow_none=True)
    attachment_count = fields.Integer()


@body
class AnnouncementDetailSchema(AnnouncementSchema):
    body = fields.String()
    attachments = fields.List(fields.Nested(AnnouncementAttachmentSchema))


@body
class AnnouncementListSchema(Schema):
    result = fields.List(fields.Nested(AnnouncementSchema))
    unread = fields.Integer()


AnnouncementResultSchema = result_of(AnnouncementDetailSchema, "AnnouncementResultSchema")


@body
class ReadReceiptSchema(Schema):
    read_at = IsoDateTime(metadata={"description": "the first time the caller read it"})


COMPONENTS = (AnnouncementAttachmentSchema, AnnouncementSchema, AnnouncementDetailSchema,
              AnnouncementListSchema, AnnouncementResultSchema, ReadReceiptSchema)
