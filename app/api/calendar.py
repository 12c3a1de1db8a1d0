"""The statutory calendar over REST: ``GET /api/v1/calendar/<year>`` for every member of
staff (the mobile app counts deadlines with it), ``PUT`` for administrators only."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.api import BaseApi, expose, protect
from marshmallow import ValidationError

from app import clock
from app.api.common import api_actor, json_body, safe
from app.api.idempotency import idempotent
from app.api.schemas import calendar as schemas
from app.api.schemas.calendar import YEARS, CalendarYearInputSchema, CalendarYearSchema
from app.extensions import db
from app.workflow import calendar_data
from app.workflow.actor import ADMIN
from app.workflow.errors import Forbidden, InvalidInput

class CalendarApi(BaseApi):
    resource_name = "calendar"
    openapi_spec_tag = "Statutory calendar"
    allow_browser_login = False
    base_permissions = ["can_get", "can_put"]
    method_permission_name = {"get_year": "get", "put_year": "put"}
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/<int:year>", methods=["GET"])
    @protect()
    @safe
    def get_year(self, year: int) -> Any:
        """A year's holidays and make-up working days, and whether it is complete.
        ---
        get:
          summary: A year of the statutory calendar
          parameters:
          - {in: path, name: year, required: true, schema: {type: integer, minimum: 1949, maximum: 2200}}
          responses:
            200:
              description: the year's arrangement
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CalendarYearSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
        """
        api_actor()
        _check_year(year)
        return self.response(200, **CalendarYearSchema().dump(_loaded(year)))

    @expose("/<int:year>", methods=["PUT"])
    @protect()
    @idempotent
    @safe
    def put_year(self, year: int) -> Any:
        """Enter a year's arrangement (administrators); complete years settle provisional deadlines.
        ---
        put:
          summary: Enter a year of the statutory calendar
          parameters:
          - {in: path, name: year, required: true, schema: {type: integer, minimum: 1949, maximum: 2200}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/CalendarYearInputSchema'}
          responses:
            200:
              description: the year as saved
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CalendarYearSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
        """
        actor = api_actor()
        if ADMIN not in actor.roles:
            raise Forbidden("only administrators enter the statutory calendar")
        _check_year(year)
        try:
            body = CalendarYearInputSchema().load(json_body())
        except ValidationError as error:
            name = sorted(error.messages)[0]
            raise InvalidInput(f"{name}: {error.messages[name]}", field=str(name)) from None
        if body.get("year", year) != year:
            raise InvalidInput(f"year: the body names {body['year']}, the address {year}", field="year")
        for name in ("holidays", "workdays"):
            stray = next((day for day in body[name] if day.year != year), None)
            if stray is not None:
                raise InvalidInput(f"{name}: {stray.isoformat()} is not in {year}", field=name)
        entry = calendar_data.YearInput(year, dict.fromkeys(body["holidays"]), dict.fromkeys(body["workdays"]),
                                        complete=body["complete"])
        calendar_data.enter_year(db.session, entry, user_id=actor.user_id, now=clock.now(), source="api")
        return self.response(200, **CalendarYearSchema().dump(_loaded(year)))


def _check_year(year: int) -> None:
    try:
        YEARS(year)
    except ValidationError:
        raise InvalidInput(f"year: {year} is outside 1949–2200", field="year") from None


def _loaded(year: int) -> dict[str, Any]:
    entry = calendar_data.entered_year(db.session, year)
    db.session.commit()
    return {"year": year, "complete": entry.complete, "holidays": sorted(entry.holidays),
            "workdays": sorted(entry.workdays)}


def register(appbuilder: Any) -> None:
    appbuilder.add_api(CalendarApi)
