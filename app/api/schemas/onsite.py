"""Request and response bodies of the on-site API (``/api/v1/onsite``): customers and their
picture, visits, documents, box–meter anomalies and service, safety and equipment records."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import CodeNameSchema, IsoDate, IsoDateTime, TimelineEntrySchema, body, optional, result_list, result_of, values
from app.models.onsite import AnomalyState

OWNER_TYPES = ["visit", "service_record", "safety_record", "equipment", "anomaly"]


# --- customers and visits ----------------------------------------------------------------
@body
class ChoicesSchema(Schema):
    tags = fields.List(fields.Nested(CodeNameSchema))
    intentions = fields.List(fields.Nested(CodeNameSchema))


@body
class CustomerHitSchema(Schema):
    """A customer found by a search (the phone masked for roles without PersonalData)."""

    id = fields.Integer()
    customer_no = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    grid = fields.String()


CustomerSearchSchema = result_list(CustomerHitSchema, "CustomerSearchSchema")


@body
class CustomerArchiveSchema(Schema):
    id = fields.Integer()
    customer_no = fields.String()
    name = fields.String()
    customer_type = fields.String()
    phone = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    grid = fields.String()
    grid_id = fields.Integer()
    transformer = fields.String(allow_none=True)
    meter_no = fields.String(allow_none=True)
    contract_capacity_kva = fields.Float(allow_none=True)
    tariff = fields.String(allow_none=True)


@body
class BillFiguresSchema(Schema):
    """A month's bill: consumption by time-of-use band and the amount."""

    period = fields.String(metadata={"description": "YYYYMM"})
    total_kwh = fields.Float(allow_none=True)
    sharp_kwh = fields.Float(allow_none=True)
    peak_kwh = fields.Float(allow_none=True)
    flat_kwh = fields.Float(allow_none=True)
    valley_kwh = fields.Float(allow_none=True)
    amount_yuan = fields.Float(allow_none=True)


@body
class OrderSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String()
    channel = fields.String()
    demand_type = fields.String()
    state = fields.String()
    registered_at = IsoDateTime(allow_none=True)


@body
class VisitPhotoSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    content_type = fields.String()
    name = fields.String(allow_none=True)
    has_thumbnail = fields.Boolean()
    url = fields.String(**optional())


@body
class PictureVisitSchema(Schema):
    id = fields.Integer()
    visited_at = IsoDateTime()
    staff = fields.String(allow_none=True)
    address_confirmed = fields.Boolean()
    contact_confirmed = fields.Boolean()
    note = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(VisitPhotoSchema))


@body
class CustomerChangeSchema(Schema):
    """A correction of the archive made on a visit (personal fields masked)."""

    field = fields.String()
    old = fields.String(allow_none=True)
    new = fields.String(allow_none=True)
    by = fields.String(allow_none=True)
    at = IsoDateTime()
    visit_id = fields.Integer(allow_none=True)


@body
class CustomerPictureSchema(Schema):
    customer = fields.Nested(CustomerArchiveSchema)
    tags = fields.List(fields.Nested(CodeNameSchema))
    intentions = fields.List(fields.Nested(CodeNameSchema))
    bills = fields.List(fields.Nested(BillFiguresSchema))
    open_orders = fields.List(fields.Nested(OrderSummarySchema))
    past_orders = fields.List(fields.Nested(OrderSummarySchema))
    visits = fields.List(fields.Nested(PictureVisitSchema))
    history = fields.List(fields.Nested(CustomerChangeSchema))


CustomerPictureResultSchema = result_of(CustomerPictureSchema, "CustomerPictureResultSchema")


@body
class VisitSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    customer_no = fields.String()
    customer_name = fields.String()
    grid = fields.String()
    staff = fields.String(allow_none=True)
    visited_at = IsoDateTime()
    address_confirmed = fields.Boolean()
    contact_confirmed = fields.Boolean()
    note = fields.String(allow_none=True)


VisitListSchema = result_list(VisitSchema, "VisitListSchema")


@body
class DocumentSchema(Schema):
    """A stored photo or video of an on-site record and where to fetch it."""

    id = fields.Integer()
    kind = fields.String()
    content_type = fields.String()
    name = fields.String(allow_none=True)
    size_bytes = fields.Integer()
    has_thumbnail = fields.Boolean()
    url = fields.String()
    thumbnail_url = fields.String(allow_none=True)


@body
class VisitReceiptSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    visited_at = IsoDateTime()
    photos = fields.List(fields.Nested(DocumentSchema))


VisitReceiptResultSchema = result_of(VisitReceiptSchema, "VisitReceiptResultSchema")


class VisitInputSchema(Schema):
    phone = fields.String(metadata={"description": "corrected phone (the old one kept in history)"})
    address = fields.String(metadata={"description": "corrected address"})
    contact_confirmed = fields.Boolean()
    address_confirmed = fields.Boolean()
    tags = fields.String(metadata={"description": "comma-separated tag codes"})
    intentions = fields.String(metadata={"description": "comma-separated energy intention codes"})
    note = fields.String()


DocumentListSchema = result_list(DocumentSchema, "DocumentListSchema")


# --- box–meter anomalies -----------------------------------------------------------------
@body
class AnomalySchema(Schema):
    """An abnormal box–meter relationship, its rectification, verification and timeline."""

    id = fields.Integer()
    grid = fields.String()
    meter_box_no = fields.String()
    meter_no = fields.String()
    expected = fields.String()
    found = fields.String()
    state = fields.String(validate=validate.OneOf(values(AnomalyState)))
    registered_at = IsoDateTime()
    registered_by = fields.String(allow_none=True)
    rectified_at = IsoDateTime(allow_none=True)
    rectified_by = fields.String(allow_none=True)
    rectification = fields.String(allow_none=True)
    verified_at = IsoDateTime(allow_none=True)
    verified_by = fields.String(allow_none=True)
    timeline = fields.List(fields.Nested(TimelineEntrySchema))
    photos = fields.List(fields.Nested(DocumentSchema))


AnomalyListSchema = result_list(AnomalySchema, "AnomalyListSchema")


AnomalyResultSchema = result_of(AnomalySchema, "AnomalyResultSchema")


@body
class AnomalyCountSchema(Schema):
    """A grid's anomalies by state."""

    grid = fields.String()
    registered = fields.Integer()
    rectified = fields.Integer()
    verified = fields.Integer()


AnomalyCountListSchema = result_list(AnomalyCountSchema, "AnomalyCountListSchema")


class AnomalyInputSchema(Schema):
    grid_id = fields.Integer(required=True)
    meter_box_no = fields.String(required=True)
    meter_no = fields.String(required=True)
    expected = fields.String(required=True)
    found = fields.String(required=True)


class RectificationInputSchema(Schema):
    record = fields.String(required=True, metadata={"description": "what was done"})


class VerificationInputSchema(Schema):
    accepted = fields.Boolean(load_default=True, metadata={"description": "false refuses the rectification"})
    note = fields.String()


# --- service, safety and equipment records -----------------------------------------------
@body
class ServiceRecordSchema(Schema):
    id = fields.Integer()
    grid = fields.String()
    customer_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    content = fields.String()
    staff = fields.String()
    performed_at = IsoDateTime()


ServiceRecordListSchema = result_list(ServiceRecordSchema, "ServiceRecordListSchema")


ServiceRecordResultSchema = result_of(ServiceRecordSchema, "ServiceRecordResultSchema")


class ServiceRecordInputSchema(Schema):
    content = fields.String(required=True)
    customer_id = fields.Integer()
    order_id = fields.Integer()
    grid_id = fields.Integer()


@body
class SafetyRecordSchema(Schema):
    id = fields.Integer()
    grid = fields.String()
    site = fields.String()
    hazards = fields.String()
    rectification_required = fields.String(allow_none=True)
    deadline = IsoDate(allow_none=True)
    closed = fields.Boolean()
    overdue = fields.Boolean()
    closed_at = IsoDateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    staff = fields.String()
    recorded_at = IsoDateTime()


SafetyRecordListSchema = result_list(SafetyRecordSchema, "SafetyRecordListSchema")


SafetyRecordResultSchema = result_of(SafetyRecordSchema, "SafetyRecordResultSchema")


class SafetyRecordInputSchema(Schema):
    grid_id = fields.Integer(required=True)
    site = fields.String(required=True)
    hazards = fields.String(required=True)
    rectification_required = fields.String()
    deadline = fields.Date()


class SafetyClosingInputSchema(Schema):
    note = fields.String()


@body
class EquipmentRecordSchema(Schema):
    id = fields.Integer()
    grid = fields.String()
    equipment_type = fields.String()
    model = fields.String(allow_none=True)
    serial_no = fields.String(allow_none=True)
    location = fields.String()
    transformer = fields.String(allow_none=True)
    meter_box_no = fields.String(allow_none=True)
    staff = fields.String()
    recorded_at = IsoDateTime()


EquipmentRecordListSchema = result_list(EquipmentRecordSchema, "EquipmentRecordListSchema")


EquipmentRecordResultSchema = result_of(EquipmentRecordSchema, "EquipmentRecordResultSchema")


class EquipmentRecordInputSchema(Schema):
    equipment_type = fields.String(required=True)
    model = fields.String()
    serial_no = fields.String()
    location = fields.String(required=True)
    grid_id = fields.Integer()
    transformer_id = fields.Integer()
    meter_box_no = fields.String()


COMPONENTS = (
    CodeNameSchema, ChoicesSchema, CustomerHitSchema, CustomerSearchSchema, CustomerArchiveSchema,
    BillFiguresSchema, OrderSummarySchema, VisitPhotoSchema, PictureVisitSchema, CustomerChangeSchema,
    CustomerPictureSchema, CustomerPictureResultSchema, VisitSchema, VisitListSchema, DocumentSchema,
    VisitReceiptSchema, VisitReceiptResultSchema, VisitInputSchema, DocumentListSchema,
    TimelineEntrySchema, AnomalySchema, AnomalyListSchema, AnomalyResultSchema, AnomalyCountSchema,
    AnomalyCountListSchema, AnomalyInputSchema, RectificationInputSchema, VerificationInputSchema,
    ServiceRecordSchema, ServiceRecordListSchema, ServiceRecordResultSchema, ServiceRecordInputSchema,
    SafetyRecordSchema, SafetyRecordListSchema, SafetyRecordResultSchema, SafetyRecordInputSchema,
    SafetyClosingInputSchema, EquipmentRecordSchema, EquipmentRecordListSchema, EquipmentRecordResultSchema,
    EquipmentRecordInputSchema,
)
