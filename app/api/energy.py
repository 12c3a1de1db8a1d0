"""The mobile app's energy-service API: bills and peak/valley analysis with saving
suggestions, customer lists and their export, available capacity, energy-service requests
(work orders of channel ``onsite``) and push campaigns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, current_app, request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import select

from app.api.common import api_actor, get_endpoint, iso, json_body, safe
from app.api.idempotency import idempotent
from app.api.schemas import energy as schemas
from app.api.workorder import order_json
from app.energy import analysis, capacity, customers, push
from app.energy.requests import register_energy_service
from app.extensions import db
from app.models.customer import Bill
from app.models.energy import PushCampaign
from app.onsite.service import load_customer
from app.security.masking import masked
from app.arguments import decimal_arg, int_arg
from app.workflow.errors import InvalidInput, checked_id


SHIFT_KWH_MAX = 10**9  # kWh a month: beyond any customer's use


def load_ratio() -> Decimal:
    return capacity.parse_ratio(current_app.config.get("CAPACITY_LOAD_RATIO", "0.8"))


def request_kva() -> Decimal | None:
    return capacity.parse_request(request.args.get("request_kva"))


_CAPACITY_PARAMETERS = ("{in: path, name: pk, required: true, schema: {type: integer}}",
                        "{in: query, name: request_kva, schema: {type: number}}")
_CAPACITY_RESPONSES = {status: f"{{$ref: '#/components/responses/{status}'}}" for status in (400, 403, 404)}


def campaign_json(c: PushCampaign, with_messages: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"id": c.id, "name": c.name, "station_id": c.station_id, "criteria": c.criteria,
                            "template": c.template, "state": c.state, "created_by": c.created_by_name,
                            "last_run_at": iso(c.last_run_at)}
    if with_messages:
        actor = api_actor()
        body["messages"] = [{"customer_id": m.customer_id, "phone": masked("phone", m.phone, actor.sees_personal_data),
                             "body": m.body, "state": m.state, "sent_at": iso(m.sent_at), "error": m.error}
                            for m in push.campaign_messages(db.session, actor, c)]
    return body


class EnergyApi(BaseApi):
    resource_name = "energy"
    openapi_spec_tag = "Energy services"
    allow_browser_login = False
    base_permissions = ["can_get", "can_post"]
    method_permission_name = {
        "bills": "get", "customer_analysis": "get", "grid_analysis": "get", "list_customers": "get",
        "export_customers": "get", "transformer_capacity": "get", "grid_capacity": "get",
        "service_request": "post", "list_campaigns": "get", "get_campaign": "get",
        "create_campaign": "post", "run_campaign": "post",
    }
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/customers/<int:pk>/bills", methods=["GET"])
    @protect()
    @safe
    def bills(self, pk: int) -> Any:
        """A customer's bills, newest first.
        ---
        get:
          summary: Bill query
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: months, schema: {type: integer, minimum: 1, maximum: 60}}
          responses:
            200:
              description: bills
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/BillListSchema'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        customer = load_customer(db.session, api_actor(), pk)
        months = int_arg("months", 12, low=1, high=60)
        rows = db.session.scalars(select(Bill).where(Bill.customer_id == customer.id)
                                  .order_by(Bill.period.desc()).limit(months))
        return self.response(200, **schemas.BillListSchema().dump({"result": [{
            "period": b.period, "total_kwh": float(b.total_kwh), "sharp_kwh": float(b.sharp_kwh or 0),
            "peak_kwh": float(b.peak_kwh or 0), "flat_kwh": float(b.flat_kwh or 0),
            "valley_kwh": float(b.valley_kwh or 0), "amount_yuan": float(b.amount_yuan)} for b in rows]}))

    @expose("/customers/<int:pk>/analysis", methods=["GET"])
    @protect()
    @safe
    def customer_analysis(self, pk: int) -> Any:
        """Peak/valley shares by month with changes, and a saving suggestion.
        ---
        get:
          summary: Peak/valley analysis of one customer
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: query, name: shift_kwh, schema: {type: number, minimum: 0, maximum: 1000000000}, description: kWh to move from peak to valley}
          responses:
            200:
              description: the analysis
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CustomerAnalysisResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        result = analysis.customer_analysis(db.session, api_actor(), pk,
                                            shift_kwh=decimal_arg("shift_kwh", low=0, high=SHIFT_KWH_MAX))
        return self.response(200, **schemas.CustomerAnalysisResultSchema().dump({"result": result}))

    @expose("/analysis", methods=["GET"])
    @protect()
    @safe
    def grid_analysis(self) -> Any:
        """Peak/valley shares of a grid (or the caller's scope) and the customers whose valley
        share moved by more than the threshold.
        ---
        get:
          summary: Peak/valley analysis of a grid
          parameters:
          - {in: query, name: period, required: true, schema: {type: string, example: '202610'}}
          - {in: query, name: grid_id, schema: {type: integer}}
          - {in: query, name: threshold, schema: {type: number}, description: percentage points}
          - {in: query, name: compare, schema: {type: string, enum: [previous_month, last_year]}}
          responses:
            200:
              description: the analysis
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/GridAnalysisResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
        """
        default = Decimal(str(current_app.config.get("VALLEY_SHIFT_THRESHOLD_PP", "5")))
        result = analysis.grid_analysis(
            db.session, api_actor(), period=request.args.get("period", ""), grid_id=int_arg("grid_id"),
            threshold_pp=decimal_arg("threshold", default, low=0, high=100) or default,
            compare=request.args.get("compare", "previous_month"))
        return self.response(200, **schemas.GridAnalysisResultSchema().dump({"result": result}))

    @expose("/customers", methods=["GET"])
    @protect()
    @safe
    def list_customers(self) -> Any:
        """The filtered customer list (the same filter as the export).
        ---
        get:
          summary: Customer list production
          parameters:
          - {in: query, name: grid, schema: {type: string}, description: grid code}
          - {in: query, name: customer_type, schema: {type: string}}
          - {in: query, name: tag, schema: {type: string}}
          - {in: query, name: intention, schema: {type: string}}
          - {in: query, name: q, schema: {type: string}}
          responses:
            200:
              description: customers, with the export's headers and rows
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CustomerTableSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {description: a filter on phone or id_number by a role that sees them masked}
        """
        actor = api_actor()
        found = customers.list_customers(db.session, actor, request.args.to_dict(), limit=1000)
        return self.response(200, **schemas.CustomerTableSchema().dump(
            {"headers": customers.HEADERS, "result": customers.rows(found, actor)}))

    @expose("/customers/export", methods=["GET"])
    @protect()
    @safe
    def export_customers(self) -> Any:
        """Export the filtered customer list as .xlsx or CSV with Chinese headers.
        ---
        get:
          summary: Export a customer list
          parameters:
          - {in: query, name: format, schema: {type: string, enum: [xlsx, csv]}}
          - {in: query, name: grid, schema: {type: string}}
          - {in: query, name: customer_type, schema: {type: string}}
          - {in: query, name: tag, schema: {type: string}}
          - {in: query, name: intention, schema: {type: string}}
          - {in: query, name: q, schema: {type: string}}
          responses:
            200:
              description: the file
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema: {type: string, format: binary}
                text/csv: {schema: {type: string, format: binary}}
            400: {$ref: '#/components/responses/400'}
            403: {description: a filter on phone or id_number by a role that sees them masked}
        """
        return export_response(api_actor(), request.args.to_dict())

    transformer_capacity = get_endpoint(
        "transformer_capacity", "/capacity/transformers/<int:pk>",
        lambda actor, pk: capacity.transformer_capacity(db.session, actor, pk, load_ratio(), request_kva()),
        description="Available capacity of a transformer; with request_kva, whether it fits.",
        summary="Available capacity of a transformer", parameters=_CAPACITY_PARAMETERS, result="the figures",
        schema=schemas.TransformerCapacityResultSchema,
        responses={**_CAPACITY_RESPONSES,
                   409: "{description: the request is above the available capacity (message gives the figure), or the transformer has no readings (capacity unknown)}"})

    grid_capacity = get_endpoint(
        "grid_capacity", "/capacity/grids/<int:pk>",
        lambda actor, pk: capacity.grid_capacity(db.session, actor, pk, load_ratio(), request_kva()),
        description="Available capacity of a grid's transformers; with request_kva, which can take it.",
        summary="Available capacity of a grid", parameters=_CAPACITY_PARAMETERS, result="the figures",
        schema=schemas.GridCapacityResultSchema,
        responses={**_CAPACITY_RESPONSES, 409: "{description: no transformer of the grid with readings can take the request (one without readings is never offered)}"})

    @expose("/service-requests", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def service_request(self) -> Any:
        """Register a customer's energy-service request as an on-site work order.
        ---
        post:
          summary: Register an energy-service request
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/ServiceRequestInputSchema'}
          responses:
            201:
              description: the work order
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/WorkOrderCreatedSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        body = json_body()
        customer_id = checked_id(body.get("customer_id"), "customer_id")
        order = register_energy_service(db.session, actor, customer_id, str(body.get("content") or ""),
                                        body.get("intention") or None)
        db.session.commit()
        return self.response(201, **schemas.WorkOrderCreatedSchema().dump({"result": order_json(order, actor)}))

    @expose("/campaigns", methods=["GET"])
    @protect()
    @safe
    def list_campaigns(self) -> Any:
        """Push campaigns of the caller's station.
        ---
        get:
          summary: List push campaigns
          responses:
            200:
              description: campaigns
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CampaignListSchema'}
        """
        actor = api_actor()
        query = select(PushCampaign).order_by(PushCampaign.id.desc()).limit(200)
        if not actor.is_admin:
            query = query.where(PushCampaign.station_id == actor.station_id)
        return self.response(200, **schemas.CampaignListSchema().dump(
            {"result": [campaign_json(c) for c in db.session.scalars(query)]}))

    @expose("/campaigns/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_campaign(self, pk: int) -> Any:
        """A campaign with each push and its delivery state.
        ---
        get:
          summary: Get a push campaign
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the campaign and its pushes
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CampaignDetailResultSchema'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        campaign = push.load_campaign(db.session, api_actor(), pk)
        return self.response(200, **schemas.CampaignDetailResultSchema().dump(
            {"result": campaign_json(campaign, with_messages=True)}))

    @expose("/campaigns", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def create_campaign(self) -> Any:
        """Create a push campaign: who (criteria) and what (template with {name}, {customer_no}, {grid}, {address}).
        ---
        post:
          summary: Create a push campaign
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/CampaignInputSchema'}
          responses:
            201:
              description: the campaign
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CampaignResultSchema'}
            400: {$ref: '#/components/responses/400'}
            403: {$ref: '#/components/responses/403'}
        """
        body = json_body()
        criteria = body.get("criteria") or {}
        if not isinstance(criteria, dict):
            raise InvalidInput("criteria must be an object", field="criteria")
        campaign = push.create_campaign(db.session, api_actor(), name=str(body.get("name") or ""),
                                        template=str(body.get("template") or ""), criteria=criteria,
                                        station_id=body.get("station_id"))
        db.session.commit()
        return self.response(201, **schemas.CampaignResultSchema().dump({"result": campaign_json(campaign)}))

    @expose("/campaigns/<int:pk>/run", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def run_campaign(self, pk: int) -> Any:
        """Push the campaign to every targeted customer not yet reached.
        ---
        post:
          summary: Run a push campaign
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: counts of created, skipped, sent and failed pushes
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CampaignRunResultSchema'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        result = push.run_campaign(db.session, api_actor(), pk, push.sender_from_config(current_app.config))
        return self.response(200, **schemas.CampaignRunResultSchema().dump({"result": result}))


def export_response(actor: Any, args: dict[str, Any]) -> Response:
    fmt = args.pop("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise InvalidInput("format is xlsx or csv", field="format")
    found = customers.list_customers(db.session, actor, args)
    if fmt == "xlsx":
        data = customers.to_xlsx(found, actor)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data, mimetype = customers.to_csv(found, actor), "text/csv; charset=utf-8"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=customers.{fmt}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def register(appbuilder: Any) -> None:
    appbuilder.add_api(EnergyApi)
