"""Bodies of the registration desk's customer look-up (``/workorderview/customer_lookup``):
the query it takes and the customers it answers, masked for roles without PersonalData."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api.schemas import body, result_list


class CustomerLookupQuerySchema(Schema):
    """``?q=``: a 户号, a name, part of an address, a full phone number or its last 8 digits."""

    q = fields.String(required=True, validate=validate.Length(min=2, max=64))


@body
class DeskCustomerSchema(Schema):
    """A customer found at the desk, with what the registration form fills in."""

    id = fields.Integer()
    customer_no = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True, metadata={"description": "masked (138****5678) "
                                                                   "for roles without PersonalData"})
    address = fields.String(allow_none=True)
    grid_id = fields.Integer()
    grid = fields.String(metadata={"description": "the grid's code and name"})
    matched = fields.String(validate=validate.OneOf(["phone", "customer_no", "name", "address"]))


DeskCustomerListSchema = result_list(DeskCustomerSchema, "DeskCustomerListSchema")
