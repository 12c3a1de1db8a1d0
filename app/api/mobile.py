"""The mobile app's own API (``/api/v1/mobile``): the sync that primes the phone with the
caller's orders and the customer cards of the caller's grids (what changed since a cursor),
demands registered in the field, photos on work orders, and the places a district manager serves.

Every write honours ``Idempotency-Key`` (``app.api.idempotency``): the phone's offline outbox
replays its actions with the key each was queued with."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api.common import api_actor, iso, json_body, safe
from app.api.idempotency import idempotent
from app.api.onsite import photo_json, uploads
from app.api.schemas import mobile as schemas
from app.api.workorder import order_json
from app.channels import branch
from app.documents.store import documents_of
from app.documents.web import current_store
from app.extensions import db
from app.models.base import utcnow
from app.models.channel import LoveSupermarket
from app.models.customer import Customer
from app.models.document import OwnerType
from app.models.mobile import FieldPosition
from app.models.org import Grid
from app.models.workorder import OPEN_STATES, Channel, DemandType, WorkOrder
from app.security.masking import masked
from app.workflow import service
from app.workflow.errors import MAX_ID, Forbidden, InvalidInput, OutOfScope


def _cursor() -> dt.datetime | None:
    raw = request.args.get("cursor")
    if not raw:
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidInput("cursor must be the cursor of an earlier sync (ISO time)", field="cursor") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# The next cursor lies a little before the answer: a change flushed just before this sync but
# committed after it, or stored without sub-second precision (MySQL DATETIME), still comes in
# the next delta. A row may thus come twice; the phone keeps records by id.
CURSOR_MARGIN = dt.timedelta(seconds=2)


def _next_cursor(now: dt.datetime) -> str:
    return (now - CURSOR_MARGIN).replace(microsecond=0).isoformat()


def _position(data: dict[str, Any]) -> dict[str, Any] | None:
    """The phone's position from ``latitude``/``longitude`` (and ``accuracy_m``), when sent."""
    if data.get("latitude") is None and data.get("longitude") is None:
        return None
    found: dict[str, Any] = {}
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise InvalidInput(f"{name} must be a number from {low} to {high}", field=name)
        found[name] = round(float(value), 6)
    accuracy = data.get("accuracy_m")
    # A phone reports metres; anything beyond 100 km is no position (and would overflow the column).
    if accuracy is not None and (isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))
                                 or not 0 <= accuracy <= 100_000):
        raise InvalidInput("accuracy_m must be a number of metres from 0 to 100000", field="accuracy_m")
    found["accuracy_m"] = None if accuracy is None else int(accuracy)
    return found


def _customer_card(c: Customer, sees: bool) -> dict[str, Any]:
    return {"id": c.id, "customer_no": c.customer_no, "name": c.name, "customer_type": c.customer_type,
            "phone": masked("phone", c.phone, sees), "address": c.address, "grid": c.grid.code,
            "updated_at": iso(c.updated_at)}


class MobileApi(BaseApi):
    resource_name = "mobile"
    openapi_spec_tag = "Mobile app"
    allow_browser_login = False
    base_permissions = ["can_get", "can_post"]
    method_permission_name = {"sync": "get", "places": "get", "order_photos": "get",
                              "register_demand": "post", "attach_order_photos": "post"}
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/sync", methods=["GET"])
    @protect()
    @safe
    def sync(self) -> Any:
        """What changed since the cursor for the caller's orders and customers (scoped).
        ---
        get:
          summary: Orders and customer cards changed since a cursor, in the caller's scope
          parameters:
          - {in: query, name: cursor, schema: {type: string}, description: the cursor of the last sync; none for a full load}
          responses:
            200:
              description: the changes and the next cursor
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MobileSyncResultSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        since = _cursor()
        now = utcnow()
        order_limit = int(current_app.config.get("MOBILE_SYNC_ORDER_LIMIT", 500))
        customer_limit = int(current_app.config.get("MOBILE_SYNC_CUSTOMER_LIMIT", 2000))
        scope = actor.order_clause(WorkOrder)
        query = select(WorkOrder).where(scope)
        query = query.where(WorkOrder.updated_at >= since) if since else query.where(
            WorkOrder.state.in_(OPEN_STATES))
        orders = list(db.session.scalars(query.order_by(WorkOrder.updated_at.desc()).limit(order_limit).options(
            selectinload(WorkOrder.grid), selectinload(WorkOrder.assignee), selectinload(WorkOrder.clocks),
            selectinload(WorkOrder.events))))
        customers_query = select(Customer).where(actor.grid_clause(Customer.grid_id))
        if since:
            customers_query = customers_query.where(Customer.updated_at >= since)
        customers = list(db.session.scalars(customers_query.order_by(Customer.id).limit(customer_limit + 1)
                                            .options(selectinload(Customer.grid))))
        grids = [{"id": g.id, "code": g.code, "name": g.name} for g in db.session.scalars(
            select(Grid).where(actor.grid_clause(Grid.id, Grid.station_id)).order_by(Grid.code))]
        open_ids = list(db.session.scalars(select(WorkOrder.id).where(scope, WorkOrder.state.in_(OPEN_STATES))))
        return self.response(200, **schemas.SyncResultSchema().dump({"result": {
            "cursor": _next_cursor(now), "full": since is None,
            "orders": [order_json(o, actor, detail=True) for o in orders],
            "customers": [_customer_card(c, actor.sees_personal_data) for c in customers[:customer_limit]],
            "customers_truncated": len(customers) > customer_limit,
            "open_order_ids": sorted(open_ids), "grids": grids}}))

    @expose("/places", methods=["GET"])
    @protect()
    @safe
    def places(self) -> Any:
        """The convenience points where the caller is on duty today and the love supermarkets
        of the caller's grids.
        ---
        get:
          summary: Service points and love supermarkets the caller serves
          responses:
            200:
              description: the places
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/PlaceListSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        points = branch.points_on_duty(db.session, actor.staff_id)
        markets = db.session.scalars(select(LoveSupermarket).where(
            actor.grid_clause(LoveSupermarket.grid_id, LoveSupermarket.station_id)).order_by(LoveSupermarket.name))
        found = [{"id": p.id, "kind": "convenience_point", "name": p.name, "address": p.address} for p in points]
        found += [{"id": m.id, "kind": "love_supermarket", "name": m.name, "address": m.address} for m in markets]
        return self.response(200, **schemas.PlaceListSchema().dump({"result": found}))

    @expose("/demands", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def register_demand(self) -> Any:
        """Register a demand met in the field.
        ---
        post:
          summary: Register a demand met in the field (city call, convenience point, love supermarket)
          parameters:
          - {in: header, name: Idempotency-Key, schema: {type: string}, description: a repeat returns the first answer}
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/FieldDemandInputSchema'}
          responses:
            201:
              description: the registered order
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/FieldDemandResultSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        data = json_body()
        channel = data.get("channel")
        if channel not in schemas.FIELD_CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(schemas.FIELD_CHANNELS)}", field="channel")
        demand_type = data.get("demand_type")
        if demand_type not in {t.value for t in DemandType}:
            raise InvalidInput("unknown demand_type", field="demand_type")
        content = str(data.get("content") or "").strip()
        if not content:
            raise InvalidInput("content is required", field="content")
        person = {key: (str(data[key]).strip() or None) if data.get(key) is not None else None
                  for key in ("contact_name", "phone", "customer_no")}
        if channel == Channel.CITY_CALL.value:
            if demand_type == DemandType.SERVICE.value:
                raise InvalidInput("choose one of the smart urban management types", field="demand_type")
            grid_id = None
            if not person["customer_no"]:
                code = str(data.get("grid") or "")
                grid = db.session.scalar(select(Grid).where(Grid.code == code))
                if grid is None:
                    raise InvalidInput("grid is required for a city call without a customer", field="grid")
                if not actor.can_see_grid(grid.id, grid.station_id):
                    raise OutOfScope("the grid is not yours")
                grid_id = grid.id
            order = service.register_order(
                db.session, actor, channel=channel, demand_type=demand_type, content=content,
                address=(str(data.get("address") or "").strip() or None), grid_id=grid_id, **person)
        else:
            place_id = data.get("place_id")
            if isinstance(place_id, bool) or not isinstance(place_id, int) or not 1 <= place_id <= MAX_ID:
                raise InvalidInput("place_id is required (a service point or love supermarket)", field="place_id")
            if channel == Channel.CONVENIENCE_POINT.value:
                order = branch.register_at_point(db.session, actor, place_id, demand_type=demand_type,
                                                 content=content, address=data.get("address") or None, **person)
            else:
                order = branch.register_at_supermarket(db.session, actor, place_id, demand_type=demand_type,
                                                       content=content, **person)
        position = _position(data)
        if position is not None:
            db.session.add(FieldPosition(order_id=order.id, **position))
        db.session.commit()
        return self.response(201, **schemas.FieldDemandResultSchema().dump({"result": {
            "id": order.id, "number": order.number, "state": order.state, "channel": order.channel,
            "deadline": iso(order.deadline), "position": position}}))

    @expose("/orders/<int:pk>/photos", methods=["GET"])
    @protect()
    @safe
    def order_photos(self, pk: int) -> Any:
        """The photos of a work order in the caller's scope.
        ---
        get:
          summary: Photos of a work order
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the photos
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/OrderPhotoListSchema'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        order = service.load_order(db.session, api_actor(), pk)
        docs = documents_of(db.session, OwnerType.WORK_ORDER.value, [order.id]).get(order.id, [])
        return self.response(200, **schemas.OrderPhotoListSchema().dump({"result": photo_json(docs)}))

    @expose("/orders/<int:pk>/photos", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def attach_order_photos(self, pk: int) -> Any:
        """Attach photos to a work order the caller handles.
        ---
        post:
          summary: Attach photos to a work order
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: header, name: Idempotency-Key, schema: {type: string}, description: a repeat returns the first answer}
          requestBody:
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    photos: {type: array, items: {type: string, format: binary}}
          responses:
            201:
              description: the stored photos
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/OrderPhotoListSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        order = service.load_order(db.session, actor, pk)
        if order.grid_id is None or order.station_id is None:
            raise InvalidInput("the order has no grid yet; photos follow once it is routed", field="photos")
        if order.state in ("evaluated", "voided"):
            raise Forbidden(f"the order is {order.state}: no more photos")
        files = uploads()
        if not files:
            raise InvalidInput("no photo was sent", field="photos")
        docs = current_store().attach(db.session, actor, files, owner_type=OwnerType.WORK_ORDER.value,
                                      owner_id=order.id, grid_id=order.grid_id, station_id=order.station_id)
        db.session.commit()
        return self.response(201, **schemas.OrderPhotoListSchema().dump({"result": photo_json(docs)}))



def register(appbuilder: Any) -> None:
    appbuilder.add_api(MobileApi)
