"""The mobile app's work-order API: the caller's orders (keyset-paginated), one order with
its timeline, and every lifecycle action, all through the workflow service."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Iterable

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import select

from app.api.common import api_actor, iso, json_body, safe
from app.api.idempotency import idempotent
from app.api.schemas import workorder as schemas
from app.arguments import int_arg
from app.extensions import db
from app.models.clocks import WorkOrderClock
from app.models.org import Grid, StaffProfile
from app.models.workorder import Channel, OrderState, WorkOrder, WorkOrderEvent
from app.security.masking import masked, refuse_personal_filters
from app.workflow import service
from app.workflow.actor import Actor
from app.workflow.errors import Forbidden, InvalidInput
from app.workflow.pages import newest_in_scope

MAX_LIMIT = 200
# A schema keeps nothing between dumps, while a new instance builds its nested schemas anew
# on its first dump: one instance each, made once.
PAGE_SCHEMA = schemas.WorkOrderPageSchema()
RESULT_SCHEMA = schemas.WorkOrderResultSchema()


def order_json(order: WorkOrder, actor: Actor, detail: bool = False) -> dict[str, Any]:
    return order_fields(order, order.grid.code if order.grid else None,
                        order.assignee.name if order.assignee else None, order.clocks, actor,
                        events=order.events if detail else None)


def order_fields(order: Any, grid: str | None, assignee: str | None, clocks: Iterable[Any], actor: Actor,
                 events: Iterable[Any] | None = None) -> dict[str, Any]:
    """An order as a list shows it; in detail (with ``events``, its timeline) as the detail
    read does, with the actions open to the caller."""
    body = order_summary(order, grid, assignee, clocks, actor)
    if events is not None:
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
                for e in events
            ],
        )
    return body


def order_summary(order: Any, grid: str | None, assignee: str | None, clocks: Iterable[Any],
                  actor: Actor) -> dict[str, Any]:
    """An order as a list shows it, from anything with its columns as attributes: the
    order itself or a row of ``SUMMARY_COLUMNS``."""
    return {
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
        "grid": grid,
        "assignee": assignee,
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
            for c in sorted(clocks, key=lambda c: (c.deadline is None, c.deadline or order.registered_at))
        ],
        "registered_at": iso(order.registered_at),
        "updated_at": iso(order.updated_at),
        "version": order.version,
    }


# What a list page reads: the columns it shows, the grid's code and the assignee's name
# (joined), never whole orders.
SUMMARY_COLUMNS = (
    WorkOrder.id, WorkOrder.number, WorkOrder.channel, WorkOrder.demand_type, WorkOrder.state,
    WorkOrder.priority, WorkOrder.contact_name, WorkOrder.phone, WorkOrder.address, WorkOrder.customer_no,
    WorkOrder.deadline, WorkOrder.deadline_provisional, WorkOrder.source_deadline, WorkOrder.suspended,
    WorkOrder.supervision_level, WorkOrder.redo_count, WorkOrder.urge_count, WorkOrder.timely,
    WorkOrder.registered_at, WorkOrder.updated_at, WorkOrder.version,
    Grid.code.label("grid_code"), StaffProfile.name.label("assignee_name"),
)
CLOCK_COLUMNS = (WorkOrderClock.order_id, WorkOrderClock.kind, WorkOrderClock.deadline, WorkOrderClock.met_at,
                 WorkOrderClock.timely)
# What the detail read adds to a list's columns: what it shows, and what the caller's scope
# and the actions open to them are decided on (``Actor.can_see_order``,
# ``service.available_actions``: the state, suspension, supervision, demand type and times).
DETAIL_COLUMNS = (
    *SUMMARY_COLUMNS, WorkOrder.content, WorkOrder.resolution, WorkOrder.score, WorkOrder.evaluation_comment,
    WorkOrder.dispatched_at, WorkOrder.accepted_at, WorkOrder.resolved_at, WorkOrder.verified_at,
    WorkOrder.evaluated_at, WorkOrder.arrival_latitude, WorkOrder.arrival_longitude,
    WorkOrder.station_id, WorkOrder.team_id, WorkOrder.grid_id, WorkOrder.assignee_id,
)
EVENT_COLUMNS = (WorkOrderEvent.action, WorkOrderEvent.from_state, WorkOrderEvent.to_state,
                 WorkOrderEvent.actor_name, WorkOrderEvent.created_at, WorkOrderEvent.note)


class OrderRead(SimpleNamespace):
    """One order read for its answer: ``DETAIL_COLUMNS`` as attributes, its ``clocks`` and
    its ``events`` (the timeline) as rows — not an ORM object, nothing loaded behind it."""


def read_order(actor: Actor, pk: int) -> OrderRead:
    """The order ``pk`` for the detail answer, if the actor's scope holds it, in three
    statements (the order with its grid and assignee, its clocks, its timeline)."""
    row = db.session.execute(select(*DETAIL_COLUMNS).outerjoin(Grid, Grid.id == WorkOrder.grid_id)
                             .outerjoin(StaffProfile, StaffProfile.id == WorkOrder.assignee_id)
                             .where(WorkOrder.id == pk)).first()
    order = service.check_visible(actor, OrderRead(**row._mapping) if row else None, pk)
    order.clocks = db.session.execute(select(*CLOCK_COLUMNS).where(WorkOrderClock.order_id == pk)
                                      .order_by(WorkOrderClock.id)).all()
    order.events = db.session.execute(select(*EVENT_COLUMNS).where(WorkOrderEvent.order_id == pk)
                                      .order_by(WorkOrderEvent.id)).all()
    return order


def summaries(query: Any, actor: Actor) -> list[dict[str, Any]]:
    """The orders of ``query`` (a select of ``SUMMARY_COLUMNS``) as a list shows them: two
    statements, the rows and their clocks."""
    rows = db.session.execute(query).all()
    clocks: dict[int, list[Any]] = {row.id: [] for row in rows}
    if rows:
        for clock in db.session.execute(select(*CLOCK_COLUMNS).where(WorkOrderClock.order_id.in_(list(clocks)))
                                        .order_by(WorkOrderClock.id)):
            clocks[clock.order_id].append(clock)
    return [order_summary(row, row.grid_code, row.assignee_name, clocks[row.id], actor) for row in rows]


def order_body(order: WorkOrder, actor: Actor) -> dict[str, Any]:
    """The answer about one order: ``{"result": <the order in detail>}``."""
    return RESULT_SCHEMA.dump({"result": order_json(order, actor, detail=True)})


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
        conditions = []
        if args.get("state"):
            try:
                OrderState(args["state"])
            except ValueError:
                raise InvalidInput(f"unknown state: {args['state']}", field="state") from None
            conditions.append(WorkOrder.state == args["state"])
        if args.get("channel"):
            try:
                Channel(args["channel"])
            except ValueError:
                raise InvalidInput(f"unknown channel: {args['channel']}", field="channel") from None
            conditions.append(WorkOrder.channel == args["channel"])
        if after_id is not None:
            conditions.append(WorkOrder.id < after_id)
        query = (select(*SUMMARY_COLUMNS).outerjoin(Grid, Grid.id == WorkOrder.grid_id)
                 .outerjoin(StaffProfile, StaffProfile.id == WorkOrder.assignee_id))
        orders = summaries(newest_in_scope(query, actor, conditions, limit + 1), actor)
        more = len(orders) > limit
        orders = orders[:limit]
        return self.response(200, **PAGE_SCHEMA.dump({
            "result": orders,
            "next_after_id": orders[-1]["id"] if more and orders else None,
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
        order = read_order(actor, pk)
        return self.response(200, **RESULT_SCHEMA.dump({"result": order_fields(
            order, order.grid_code, order.assignee_name, order.clocks, actor, events=order.events)}))

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
