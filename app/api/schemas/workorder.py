"""Request and response bodies of the work-order API (``/api/v1/workorder``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import (
    IsoDateTime,
    MessageSchema,
    TimelineEntrySchema,
    body,
    result_list,
    result_of,
    values,
)
from app.models.workorder import Channel, DemandType, OrderState, Priority, SupervisionLevel

ACTIONS = ["dispatch", "accept", "return", "resolve", "reject", "verify", "evaluate", "urge", "supervise",
           "reopen", "suspend", "resume", "extend", "approve_extension", "refuse_extension", "callback",
           "contact", "arrive", "transfer", "amend", "void"]


@body
class OrderClockSchema(Schema):
    """One milestone clock of an order: its deadline, when it was met and whether in time."""

    kind = fields.String()
    deadline = IsoDateTime(allow_none=True)
    met_at = IsoDateTime(allow_none=True)
    timely = fields.Boolean(allow_none=True)


@body
class PositionSchema(Schema):
    latitude = fields.Float()
    longitude = fields.Float()


@body
class WorkOrderSchema(Schema):
    """A work order as a list shows it (the phone masked for roles without PersonalData)."""

    id = fields.Integer()
    number = fields.String()
    channel = fields.String(validate=validate.OneOf(values(Channel)))
    demand_type = fields.String(validate=validate.OneOf(values(DemandType)))
    state = fields.String(validate=validate.OneOf(values(OrderState)))
    priority = fields.String(validate=validate.OneOf(values(Priority)))
    contact_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    customer_no = fields.String(allow_none=True)
    grid = fields.String(allow_none=True, metadata={"description": "grid code"})
    assignee = fields.String(allow_none=True, metadata={"description": "the assignee's name"})
    deadline = IsoDateTime(allow_none=True)
    deadline_provisional = fields.Boolean()
    source_deadline = IsoDateTime(allow_none=True)
    suspended = fields.Boolean()
    supervision_level = fields.String(validate=validate.OneOf(values(SupervisionLevel)))
    redo_count = fields.Integer()
    urge_count = fields.Integer()
    timely = fields.Boolean(allow_none=True)
    clocks = fields.List(fields.Nested(OrderClockSchema))
    registered_at = IsoDateTime()
    updated_at = IsoDateTime(allow_none=True)
    version = fields.Integer(metadata={"description": "send it back with the next action"})


@body
class WorkOrderDetailSchema(WorkOrderSchema):
    """One work order with its text, result, timeline and the actions open to the caller."""

    content = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    score = fields.Integer(allow_none=True)
    evaluation_comment = fields.String(allow_none=True)
    dispatched_at = IsoDateTime(allow_none=True)
    accepted_at = IsoDateTime(allow_none=True)
    resolved_at = IsoDateTime(allow_none=True)
    verified_at = IsoDateTime(allow_none=True)
    evaluated_at = IsoDateTime(allow_none=True)
    arrival_position = fields.Nested(PositionSchema, allow_none=True)
    actions = fields.List(fields.String())
    timeline = fields.List(fields.Nested(TimelineEntrySchema))


@body
class WorkOrderPageSchema(Schema):
    result = fields.List(fields.Nested(WorkOrderSchema))
    next_after_id = fields.Integer(allow_none=True, metadata={"description": "the after_id of the next page"})


WorkOrderResultSchema = result_of(WorkOrderDetailSchema, "WorkOrderResultSchema")


@body
class WorkOrderCreatedSchema(Schema):
    """A work order just registered (an energy-service request)."""

    result = fields.Nested(WorkOrderSchema)


class WorkOrderActionSchema(Schema):
    """What an action needs; ``version`` always (the version the caller last saw)."""

    version = fields.Integer(required=True)
    assignee = fields.String(metadata={"description": "dispatch, transfer: the staff's user name"})
    resolution = fields.String(metadata={"description": "resolve"})
    reason = fields.String(metadata={"description": "return, reject, suspend, extend, transfer, void, …"})
    note = fields.String()
    score = fields.Integer(validate=validate.Range(0, 100), metadata={"description": "evaluate: the overall score"})
    timeliness = fields.Integer(validate=validate.Range(0, 100), metadata={"description": "evaluate: a part score"})
    quality = fields.Integer(validate=validate.Range(0, 100))
    attitude = fields.Integer(validate=validate.Range(0, 100))
    comment = fields.String(metadata={"description": "evaluate"})
    level = fields.String(validate=validate.OneOf(values(SupervisionLevel)), metadata={"description": "supervise"})
    days = fields.Integer(validate=validate.Range(1, 60), metadata={"description": "extend, approve_extension"})
    satisfied = fields.Boolean(metadata={"description": "callback"})
    answers = fields.Dict(keys=fields.String(), metadata={"description": "callback: question code → answer"})
    latitude = fields.Float(validate=validate.Range(-90, 90), metadata={"description": "arrive: the phone's position"})
    longitude = fields.Float(validate=validate.Range(-180, 180))
    confirm_leave = fields.Boolean(metadata={
        "description": "dispatch, transfer: give the order to someone on leave or off duty anyway "
                       "(without it such a call is refused with 409)"})
    content = fields.String(metadata={"description": "amend: the order's new content"})
    priority = fields.String(validate=validate.OneOf(values(Priority)), metadata={"description": "amend"})


@body
class CandidateSchema(Schema):
    """Someone an order may be dispatched or transferred to, with their availability now."""

    id = fields.Integer(metadata={"description": "staff id"})
    username = fields.String(allow_none=True)
    name = fields.String()
    available = fields.Boolean(metadata={"description": "not on leave and on duty"})
    on_leave = fields.Boolean()
    leave_until = IsoDateTime(allow_none=True)
    on_duty = fields.Boolean()
    open_orders = fields.Integer()


CandidateListSchema = result_list(CandidateSchema, "CandidateListSchema")


COMPONENTS = (MessageSchema, OrderClockSchema, PositionSchema, TimelineEntrySchema, WorkOrderSchema,
              WorkOrderDetailSchema, WorkOrderPageSchema, WorkOrderResultSchema, WorkOrderCreatedSchema,
              WorkOrderActionSchema, CandidateSchema, CandidateListSchema)
