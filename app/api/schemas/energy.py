"""Request and response bodies of the energy-service API (``/api/v1/energy``): bills,
peak/valley analyses, customer lists, available capacity, service requests and push campaigns."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import IsoDateTime, body, optional, result_list, result_of, values
from app.api.schemas.onsite import BillFiguresSchema
from app.api.schemas.workorder import OrderClockSchema, WorkOrderCreatedSchema, WorkOrderSchema
from app.models.energy import CampaignState, DeliveryState


BillListSchema = result_list(BillFiguresSchema, "BillListSchema")


@body
class BandFiguresSchema(Schema):
    """A figure per time-of-use band: a share in per cent, or a change in percentage points."""

    sharp = fields.Float(allow_none=True)
    peak = fields.Float(allow_none=True)
    flat = fields.Float(allow_none=True)
    valley = fields.Float(allow_none=True)


@body
class AnalysedMonthSchema(Schema):
    period = fields.String(metadata={"description": "YYYYMM"})
    total_kwh = fields.Float()
    sharp_kwh = fields.Float()
    peak_kwh = fields.Float()
    flat_kwh = fields.Float()
    valley_kwh = fields.Float()
    shares = fields.Nested(BandFiguresSchema, allow_none=True)
    change_vs_previous_month = fields.Nested(BandFiguresSchema, allow_none=True)
    change_vs_last_year = fields.Nested(BandFiguresSchema, allow_none=True)


@body
class SavingSuggestionSchema(Schema):
    """What moving ``shift_kwh`` a month from peak to valley saves at the customer's tariff."""

    period = fields.String()
    shift_kwh = fields.Float()
    peak_price = fields.Float()
    valley_price = fields.Float()
    monthly_saving_yuan = fields.Float()


@body
class CustomerAnalysisSchema(Schema):
    customer_no = fields.String()
    name = fields.String()
    months = fields.List(fields.Nested(AnalysedMonthSchema))
    suggestion = fields.Nested(SavingSuggestionSchema, allow_none=True)


CustomerAnalysisResultSchema = result_of(CustomerAnalysisSchema, "CustomerAnalysisResultSchema")


@body
class ValleyMoverSchema(Schema):
    """A customer whose valley share moved by more than the threshold."""

    customer_id = fields.Integer()
    customer_no = fields.String()
    name = fields.String()
    grid = fields.String()
    valley_share = fields.Float(allow_none=True)
    base_valley_share = fields.Float(allow_none=True)
    change_pp = fields.Float(allow_none=True)


@body
class GridSharesSchema(Schema):
    grid = fields.String()
    name = fields.String()
    shares = fields.Nested(BandFiguresSchema, allow_none=True)
    change = fields.Nested(BandFiguresSchema, allow_none=True)


@body
class GridAnalysisSchema(Schema):
    grid = fields.String(allow_none=True, metadata={"description": "the grid's code; null: the caller's scope"})
    period = fields.String()
    compared_with = fields.String()
    threshold_pp = fields.Float()
    months = fields.List(fields.Nested(AnalysedMonthSchema))
    movers = fields.List(fields.Nested(ValleyMoverSchema))
    by_grid = fields.List(fields.Nested(GridSharesSchema))


GridAnalysisResultSchema = result_of(GridAnalysisSchema, "GridAnalysisResultSchema")


@body
class CustomerTableSchema(Schema):
    """The customer list as the export writes it: Chinese headers and one row a customer."""

    headers = fields.List(fields.String())
    result = fields.List(fields.List(fields.Raw(metadata={"oneOf": [{"type": "string"}, {"type": "number"}]})))


@body
class TransformerCapacitySchema(Schema):
    transformer_id = fields.Integer()
    code = fields.String()
    name = fields.String(allow_none=True)
    grid_id = fields.Integer()
    rated_kva = fields.Float()
    load_ratio = fields.Float()
    allowed_kva = fields.Float()
    capacity_known = fields.Boolean(metadata={"description": "false when the transformer has no demand readings"})
    peak_demand_kva = fields.Float(allow_none=True, metadata={"description": "null: no readings"})
    available_kva = fields.Float(allow_none=True, metadata={"description": "null: unknown (no readings)"})
    request_kva = fields.Float(**optional(description="with request_kva: the request"))
    fits = fields.Boolean(**optional(description="with request_kva: true (a request that does not fit is a 409)"))


TransformerCapacityResultSchema = result_of(TransformerCapacitySchema, "TransformerCapacityResultSchema")


@body
class GridCapacitySchema(Schema):
    grid_id = fields.Integer()
    grid = fields.String()
    transformers = fields.List(fields.Nested(TransformerCapacitySchema))
    rated_kva = fields.Float()
    available_kva = fields.Float(allow_none=True, metadata={
        "description": "sum over the transformers with readings; null when none has any"})
    unknown_transformers = fields.List(fields.String(), metadata={
        "description": "codes of the transformers without readings (capacity unknown)"})
    best_transformer = fields.String(allow_none=True)
    request_kva = fields.Float(**optional())
    fits = fields.Boolean(**optional())
    fitting_transformers = fields.List(fields.String(), **optional(description="codes of the transformers "
                                                                                "that can take the request"))


GridCapacityResultSchema = result_of(GridCapacitySchema, "GridCapacityResultSchema")


class ServiceRequestInputSchema(Schema):
    customer_id = fields.Integer(required=True)
    content = fields.String(required=True)
    intention = fields.String(metadata={"description": "energy intention code"})


@body
class PushMessageSchema(Schema):
    customer_id = fields.Integer(allow_none=True)
    phone = fields.String(allow_none=True)
    body = fields.String()
    state = fields.String(validate=validate.OneOf(values(DeliveryState)))
    sent_at = IsoDateTime(allow_none=True)
    error = fields.String(allow_none=True)


@body
class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    station_id = fields.Integer(allow_none=True)
    criteria = fields.Dict(keys=fields.String(), allow_none=True)
    template = fields.String()
    state = fields.String(validate=validate.OneOf(values(CampaignState)))
    created_by = fields.String(allow_none=True)
    last_run_at = IsoDateTime(allow_none=True)


@body
class CampaignDetailSchema(CampaignSchema):
    messages = fields.List(fields.Nested(PushMessageSchema))


CampaignListSchema = result_list(CampaignSchema, "CampaignListSchema")


CampaignResultSchema = result_of(CampaignSchema, "CampaignResultSchema")


CampaignDetailResultSchema = result_of(CampaignDetailSchema, "CampaignDetailResultSchema")


class CampaignInputSchema(Schema):
    name = fields.String(required=True)
    template = fields.String(required=True, metadata={
        "description": "with {name}, {customer_no}, {grid}, {address}"})
    criteria = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "grid, customer_type, tag, intention, q"})
    station_id = fields.Integer()


@body
class CampaignRunSchema(Schema):
    created = fields.Integer()
    skipped = fields.Integer()
    sent = fields.Integer()
    failed = fields.Integer()


CampaignRunResultSchema = result_of(CampaignRunSchema, "CampaignRunResultSchema")


COMPONENTS = (
    BillFiguresSchema, BillListSchema, BandFiguresSchema, AnalysedMonthSchema, SavingSuggestionSchema,
    CustomerAnalysisSchema, CustomerAnalysisResultSchema, ValleyMoverSchema, GridSharesSchema,
    GridAnalysisSchema, GridAnalysisResultSchema, CustomerTableSchema, TransformerCapacitySchema,
    TransformerCapacityResultSchema, GridCapacitySchema, GridCapacityResultSchema, ServiceRequestInputSchema,
    OrderClockSchema, WorkOrderSchema, WorkOrderCreatedSchema, PushMessageSchema, CampaignSchema,
    CampaignDetailSchema, CampaignListSchema, CampaignResultSchema, CampaignDetailResultSchema,
    CampaignInputSchema, CampaignRunSchema, CampaignRunResultSchema,
)
