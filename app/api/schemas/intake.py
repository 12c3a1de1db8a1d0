"""Request and response bodies of the intake API of external platforms (``/api/v1/intake``),
the shapes CONTRACT.md promises them; the feedback result is also what a channel's callback
receives."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import IsoDateTime, body, optional, values
from app.models.workorder import DemandType, OrderState


class DemandSchema(Schema):
    """A demand as an external platform registers it."""

    external_id = fields.String(required=True, validate=validate.Length(max=64))
    demand_type = fields.String(required=True, validate=validate.OneOf(values(DemandType)))
    content = fields.String(required=True)
    contact_name = fields.String()
    phone = fields.String(required=True)
    address = fields.String()
    customer_no = fields.String()
    received_at = fields.DateTime(required=True)
    source_deadline = fields.DateTime()


@body
class DemandReceiptSchema(Schema):
    """The order a demand became (CONTRACT.md: ``{"id","number","state","deadline"}``)."""

    id = fields.Integer()
    number = fields.String()
    state = fields.String(validate=validate.OneOf(values(OrderState)))
    deadline = IsoDateTime(allow_none=True)


@body
class EvaluationSchema(Schema):
    score = fields.Integer(allow_none=True)
    comment = fields.String(allow_none=True)
    evaluated_at = IsoDateTime(allow_none=True)


@body
class FeedbackResultSchema(Schema):
    """One result of a platform's order: as the order stood after the action (with ``after``)
    or as it stands now (with ``since``)."""

    id = fields.Integer()
    number = fields.String()
    external_id = fields.String(allow_none=True)
    state = fields.String(validate=validate.OneOf(values(OrderState)))
    resolution = fields.String(allow_none=True)
    resolved_at = IsoDateTime(allow_none=True)
    timely = fields.Boolean(allow_none=True)
    evaluation = fields.Nested(EvaluationSchema, allow_none=True)
    action = fields.String(allow_none=True, **optional(description="the action that produced the result"))
    seq = fields.Integer(allow_none=True, **optional(description="the result's cursor"))
    changed_at = IsoDateTime(allow_none=True, **optional())


@body
class FeedbackPageSchema(Schema):
    result = fields.List(fields.Nested(FeedbackResultSchema))
    cursor = fields.Integer(allow_none=True, metadata={"description": "the next call's after"})
    until = IsoDateTime(allow_none=True, metadata={"description": "the next call's since (the older way)"})


COMPONENTS = (DemandSchema, DemandReceiptSchema, EvaluationSchema, FeedbackResultSchema, FeedbackPageSchema)
