"""The mobile app's work-order API: the caller's orders (keyset-paginated), one order with
its timeline, and every lifecycle action, all through the workflow service."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api.common import api_actor, iso, json_body, safe
from app.api.idempotency import idempotent
from app.api.schemas import workorder as schemas
from app.arguments import int_arg
from app.extensions import db
from app.models.workorder import Channel, OrderState, WorkOrder
from app.security.masking import masked, refuse_personal_filters
from app.workflow import service
from app.workflow.actor import Actor
from app.workflow.errors import Forbidden, InvalidInput

MAX_LIMIT = 200


def order_json(order: WorkOrder, actor: Actor, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": order.id,
        "number": order.number,
        "channel": order.channel,
        "demand_type": order.demand_type,
        "state": order.state,
        "priority": order.priority,
        "contact_name": order.contact_name,
        "phone": masked("phone", order.phone, actor.sees_personal_data),
        "address": order.address,
        "customer_no": order.customer_no,
        "grid": order.grid.code if order.grid else None,
        "assignee": order.assignee.name if order.assignee else None,
        "deadline": iso(order.deadline),
        "deadline_provisional": bool(order.deadline_provisional),
        "source_deadline": iso(order.source_deadline),
        "suspended": order.suspended,
        "supervision_level": order.supervision_level,
        "redo_count": order.redo_count,
        "urge_count": order.urge_count,
        "timely": order.timely,
        "clocks": [
            {"kind": c.kind, "deadline": iso(c.deadline), "met_at": iso(c.met_at), "timely": c.timely}
            for c in sorted(order.clocks, key=lambda c: (c.deadline is None, c.deadline or order.registered_at))
        ],
        "registered_at": iso(order.registered_at),
        "updated_at": iso(order.updated_at),
        "version": order.version,
    }
    if detail:
        body.update(
            content=order.content,
            resolution=order.resolution,
            score=order.score,
            evaluation_comment=order.evaluation_comment,
            dispatched_at=iso(order.dispatched_at),
            accepted_at=iso(order.accepted_at),
            resolved_at=iso(order.resolved_at),
            verified_at=iso(order.verified_at),
            evaluated_at=iso(order.evaluated_at),
            arrival_position=None if order.arrival_latitude is None else {
                "latitude": float(order.arrival_latitude), "longitude": float(order.arrival_longitude or 0)},
            actions=service.available_actions(db.session, actor, order),
            timeline=[
                {
                    "action": e.action, "from": e.from_state, "to": e.to_state,
                    "actor": e.actor_name, "at": iso(e.created_at), "note": e.note,
                }
                for e in order.events
            ],
        )
    return body


def order_body(order: WorkOrder, actor: Actor) -> dict[str, Any]:
    """The answer about one order: ``{"result": <the order in detail>}``."""
    return schemas.WorkOrderResultSchema().dump({"result": order_json(order, actor, detail=True)})


class WorkOrderApi(BaseApi):
    resource_name = "workorder"
    openapi_spec_tag = "Work orders"
    allow_browser_login = False  # bearer tokens only: no cookie-borne writes
    base_permissions = ["can_get", "can_post"]
    method_permission_name = {"list_orders": "get", "get_order": "get", "act": "post",
                              "candidates": "get"}
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def list_orders(self) -> Any:
        """The caller's orders, newest first, in the caller's scope.
        ---
        get:
          summary: List the caller's work orders
          parameters:
          - {in: query, name: state, schema: {type: string}}
          - {in: query, name: channel, schema: {type: string}}
          - {in: query, name: after_id, schema: {type: integer}, description: keyset cursor}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 200}}
          responses:
            200:
              description: a page of orders
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/WorkOrderPageSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {description: a filter on phone or id_number by a role that sees them masked}
        """
        actor = api_actor()
        args = request.args
        refuse_personal_filters(actor, args)
        limit = int_arg("limit", 50, low=1, high=MAX_LIMIT)
        after_id = int_arg("after_id")  # an id column: beyond it PostgreSQL overflows
        query = select(WorkOrder).where(actor.order_clause(WorkOrder))
        if args.get("state"):
            try:
                OrderState(args["state"])
            except ValueError:
                raise InvalidInput(f"unknown state: {args['state']}", field="state") from None
            query = query.where(WorkOrder.state == args["state"])
        if args.get("channel"):
            try:
                Channel(args["channel"])
            except ValueError:
                raise InvalidInput(f"unknown channel: {args['channel']}", field="channel") from None
            query = query.where(WorkOrder.channel == args["channel"])
        if after_id is not None:
            query = query.where(WorkOrder.id < after_id)
        query = query.order_by(WorkOrder.id.desc()).limit(limit + 1).options(
            selectinload(WorkOrder.grid), selectinload(WorkOrder.assignee), selectinload(WorkOrder.clocks)
        )
        orders = list(db.session.scalars(query))
        more = len(orders) > limit
        orders = orders[:limit]
        return self.response(200, **schemas.WorkOrderPageSchema().dump({
            "result": [order_json(o, actor) for o in orders],
            "next_after_id": orders[-1].id if more and orders else None,
        }))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_order(self, pk: int) -> Any:
        """One order with its timeline and the actions open to the caller.
        ---
        get:
          summary: Get a work order
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the order
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/WorkOrderResultSchema'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        order = service.load_order(db.session, actor, pk)
        return self.response(200, **order_body(order, actor))

    @expose("/<int:pk>/candidates", methods=["GET"])
    @protect()
    @safe
    def candidates(self, pk: int) -> Any:
        """Whom the order may be dispatched or transferred to, with each one's availability.
        ---
        get:
          summary: Dispatch candidates of a work order, with leave, duty and open orders
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the candidates
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/CandidateListSchema'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        order = service.load_order(db.session, actor, pk)
        if not (service.role_allows(actor, order, "dispatch") or service.role_allows(actor, order, "transfer")):
            raise Forbidden("your role does not dispatch work orders")
        found = service.candidates_for(db.session, actor, order)
        return self.response(200, **schemas.CandidateListSchema().dump({"result": [{
            "id": c.staff.id, "username": c.staff.user.username if c.staff.user else None,
            "name": c.staff.name, "available": c.available, "on_leave": c.leave is not None,
            "leave_until": iso(c.leave.ends_at) if c.leave else None, "on_duty": c.on_duty,
            "open_orders": c.open_orders,
        } for c in found]}))

    @expose("/<int:pk>/<action>", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def act(self, pk: int, action: str) -> Any:
        """Apply a lifecycle action. The body carries ``version`` and what the action needs.
        ---
        post:
          summary: Apply a lifecycle action to a work order
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: header, name: Idempotency-Key, schema: {type: string}, description: a repeat by the same user returns the first answer and changes nothing}
          - in: path
            name: action
            required: true
            schema:
              type: string
              enum: [dispatch, accept, return, resolve, reject, verify, evaluate, urge, supervise,
                     reopen, suspend, resume, extend, approve_extension, refuse_extension, callback,
                     contact, arrive, transfer, amend, void]
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/WorkOrderActionSchema'}
          responses:
            200:
              description: the order after the action
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/WorkOrderResultSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {$ref: '#/components/responses/403'}
            404: {$ref: '#/components/responses/404'}
            409:
              description: illegal transition or stale version
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/MessageSchema'}
        """
        actor = api_actor()
        body = json_body()
        version = body.pop("version", None)
        if version is None:
            raise InvalidInput("version is required: send the version you last saw", field="version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInput("version must be an integer", field="version")
        order = service.perform(db.session, actor, pk, action, body, version=version)
        db.session.commit()
        return self.response(200, **order_body(order, actor))


def register(appbuilder: Any) -> None:
    appbuilder.add_api(WorkOrderApi)
