"""Request and response bodies of the mobile app's API (``/api/v1/mobile``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import IsoDateTime, MessageSchema, body, optional, result_list, result_of, values
from app.api.schemas.onsite import DocumentSchema
from app.api.schemas.workorder import WorkOrderDetailSchema
from app.models.workorder import DemandType

FIELD_CHANNELS = ["city_call", "convenience_point", "love_supermarket"]


@body
class CustomerCardSchema(Schema):
    """A customer as the phone keeps it offline (phone masked for roles without PersonalData)."""

    id = fields.Integer()
    customer_no = fields.String()
    name = fields.String()
    customer_type = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String()
    grid = fields.String()
    updated_at = IsoDateTime()


@body
class GridRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


@body
class SyncSchema(Schema):
    """What changed since the cursor: the caller's orders (in detail) and the customers of the
    caller's grids; ``open_order_ids`` lists every open order still in the caller's scope, so the
    phone drops those transferred or voided away."""

    cursor = fields.String(metadata={"description": "pass as ?cursor= next time"})
    full = fields.Boolean(metadata={"description": "true when no cursor was given (a full load)"})
    orders = fields.List(fields.Nested(WorkOrderDetailSchema))
    customers = fields.List(fields.Nested(CustomerCardSchema))
    customers_truncated = fields.Boolean()
    open_order_ids = fields.List(fields.Integer())
    grids = fields.List(fields.Nested(GridRefSchema), metadata={"description": "the caller's grids"})


@body
class FieldDemandInputSchema(Schema):
    """A demand met in the field: a city call (grid required unless the customer is known), at
    a convenience point where the caller is on duty, or at a love supermarket of the caller's grids."""

    channel = fields.String(validate=validate.OneOf(FIELD_CHANNELS))
    demand_type = fields.String(validate=validate.OneOf(values(DemandType)))
    content = fields.String()
    contact_name = fields.String(**optional())
    phone = fields.String(**optional())
    address = fields.String(**optional())
    customer_no = fields.String(**optional())
    grid = fields.String(**optional(description="grid code, for a city call without a customer"))
    place_id = fields.Integer(**optional(description="service point or love supermarket id"))
    latitude = fields.Float(**optional(description="the phone's position, when it allows reading it"))
    longitude = fields.Float(**optional())
    accuracy_m = fields.Integer(**optional())


@body
class FieldPositionSchema(Schema):
    latitude = fields.Float()
    longitude = fields.Float()
    accuracy_m = fields.Integer(allow_none=True)


@body
class FieldDemandSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    state = fields.String()
    channel = fields.String()
    deadline = IsoDateTime(allow_none=True)
    position = fields.Nested(FieldPositionSchema, allow_none=True)


@body
class PlaceSchema(Schema):
    """A service point (on duty today) or love supermarket (of the caller's grids)."""

    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(["convenience_point", "love_supermarket"]))
    name = fields.String()
    address = fields.String(allow_none=True)


SyncResultSchema = result_of(SyncSchema, "MobileSyncResultSchema")
FieldDemandResultSchema = result_of(FieldDemandSchema, "FieldDemandResultSchema")
PlaceListSchema = result_list(PlaceSchema, "PlaceListSchema")
OrderPhotoListSchema = result_list(DocumentSchema, "OrderPhotoListSchema")

COMPONENTS = (MessageSchema, GridRefSchema, CustomerCardSchema, FieldPositionSchema, SyncSchema, FieldDemandInputSchema, FieldDemandSchema,
              PlaceSchema, SyncResultSchema, FieldDemandResultSchema, PlaceListSchema, OrderPhotoListSchema)
