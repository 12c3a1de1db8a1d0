"""Request and response bodies of the statutory calendar API (``/api/v1/calendar``)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

YEARS = validate.Range(min=1949, max=2200)


class CalendarYearSchema(Schema):
    """One year's statutory arrangement; ``workdays`` are the make-up working days (调休上班)."""

    year = fields.Integer(required=True, validate=YEARS)
    complete = fields.Boolean(required=True)
    holidays = fields.List(fields.Date(), required=True)
    workdays = fields.List(fields.Date(), required=True)


class CalendarYearInputSchema(Schema):
    complete = fields.Boolean(load_default=True)
    holidays = fields.List(fields.Date(), required=True)
    workdays = fields.List(fields.Date(), required=True)
    year = fields.Integer(validate=YEARS)


COMPONENTS = (CalendarYearSchema, CalendarYearInputSchema)
