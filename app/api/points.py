"""The work-point ledger API: ``GET /api/v1/workpoint/`` lists the entries in the caller's
scope (filters: staff, month, source, source_id; keyset paging) with the sum they make."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect

from app.api.common import api_actor, safe
from app.api.schemas import points as schemas
from app.arguments import int_arg
from app.extensions import db
from app.indicators.period import parse_month
from app.points import ledger

MAX_LIMIT = 500


class WorkPointApi(BaseApi):
    resource_name = "workpoint"
    openapi_spec_tag = "Work points"
    allow_browser_login = False
    base_permissions = ["can_get"]
    method_permission_name = {"list_entries": "get"}
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def list_entries(self) -> Any:
        """The work-point ledger in the caller's scope, newest first.
        ---
        get:
          summary: Work-point ledger entries
          parameters:
          - {in: query, name: staff, schema: {type: string}, description: username or staff id}
          - {in: query, name: month, schema: {type: string, pattern: '^[0-9]{4}-[0-9]{1,2}$'}, description: YYYY-MM (station time)}
          - {in: query, name: source, schema: {type: string}, description: 'work_order, task, visit, service_record, safety_record, equipment_record, anomaly'}
          - {in: query, name: source_id, schema: {type: integer}}
          - {in: query, name: after_id, schema: {type: integer}, description: keyset cursor}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
          responses:
            200:
              description: a page of entries and the sum of all entries the filters select
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/WorkPointPageSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            403: {description: a staff filter naming someone outside the caller's scope}
        """
        actor = api_actor()
        args = request.args
        limit = int_arg("limit", 100, low=1, high=MAX_LIMIT) or 100
        after_id = int_arg("after_id")
        source_id = int_arg("source_id")
        person = ledger.find_staff(db.session, actor, args["staff"]) if args.get("staff") else None
        period = parse_month(args["month"]) if args.get("month") else None
        source = ledger.check_source(args.get("source"))
        page = ledger.entries(db.session, actor, staff=person, period=period, source=source,
                              source_id=source_id, after_id=after_id, limit=limit)
        return self.response(200, **schemas.WorkPointPageSchema().dump({
            "result": [ledger.entry_json(e, page.numbers) for e in page.entries],
            "total_points": float(page.total),
            "next_after_id": page.next_after_id,
        }))


def register(appbuilder: Any) -> None:
    appbuilder.add_api(WorkPointApi)
