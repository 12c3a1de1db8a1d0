"""Response bodies of the work-point ledger API (``/api/v1/workpoint``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import IsoDateTime, body


@body
class WorkPointLineSchema(Schema):
    """One fired rule's share of an entry."""

    rule = fields.String()
    points = fields.Float()
    reason = fields.String()


@body
class WorkPointEntrySchema(Schema):
    """One ledger entry: who earned how many points for which record, by which rules."""

    id = fields.Integer()
    staff_id = fields.Integer()
    staff = fields.String(metadata={"description": "the person's name"})
    kind = fields.String(validate=validate.OneOf(["points", "reversal"]),
                         metadata={"description": "points, or the reversal of an earlier entry"})
    source_type = fields.String(metadata={"description": "work_order, task, visit, service_record, …"})
    source_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    order_number = fields.String(allow_none=True)
    points = fields.Float()
    rule_set = fields.String(allow_none=True)
    rule_set_version = fields.Integer(allow_none=True)
    rule_name = fields.String(allow_none=True, metadata={"description": "the rules that fired, joined by 、"})
    lines = fields.List(fields.Nested(WorkPointLineSchema))
    facts = fields.Dict(metadata={"description": "what the rules read when the entry was booked"})
    reverses_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    booked_at = IsoDateTime()


@body
class WorkPointPageSchema(Schema):
    result = fields.List(fields.Nested(WorkPointEntrySchema))
    total_points = fields.Float(metadata={"description": "the sum of the points of every entry the filters select"})
    next_after_id = fields.Integer(allow_none=True, metadata={"description": "keyset cursor of the next page"})


COMPONENTS = (WorkPointLineSchema, WorkPointEntrySchema, WorkPointPageSchema)
