"""The intake API of external platforms (CONTRACT.md): ``POST /api/v1/intake/<channel>``
registers a demand, ``GET /api/v1/intake/<channel>/feedback`` gives back results.  Callers
authenticate with a per-channel ``X-API-Key``, not as users; every use of a key is logged."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from flask_appbuilder.api import BaseApi, expose

from app.api.common import safe
from app.api.schemas import intake as schemas
from app.channels import apikeys, feedback, intake
from app.extensions import db
from app.models.base import utcnow
from app.channels.settings import settings
from app.workflow.actor import ADMIN, CHANNEL_CLIENT, Actor
from app.workflow.errors import InvalidInput


_RECEIPT = schemas.DemandReceiptSchema()


def _actor(key: apikeys.ActiveKey) -> Actor:
    """The platform as the registering actor.  A platform's demand may concern any grid of
    the company (the key is the authority), so it registers with company-wide scope; it never
    acts on orders afterwards."""
    return Actor(user_id=None, username=f"apikey:{key.prefix}", display_name=key.name,
                 roles=frozenset({CHANNEL_CLIENT, ADMIN}))


class IntakeApi(BaseApi):
    resource_name = "intake"
    openapi_spec_tag = "Intake (external channels)"
    allow_browser_login = False
    openapi_spec_component_schemas = schemas.COMPONENTS

    def _authenticate(self, channel: str) -> tuple[apikeys.ActiveKey | None, Any]:
        key = apikeys.find_key(db.session, request.headers.get("X-API-Key"))
        if key is None:
            return None, self.response(401, message="a valid X-API-Key is required")
        if key.channel != channel:
            self._log(key, 401)
            return None, self.response(401, message=f"this API key is not for channel {channel}")
        return key, None

    def _log(self, key: apikeys.ActiveKey, status: int, external_id: str | None = None) -> None:
        """The use of the key, in a transaction of its own (a refusal's changes are rolled back
        first).  A registration logs its use in its own transaction instead (``post_demand``)."""
        db.session.rollback()
        self._add_use(key, status, external_id)
        db.session.commit()

    def _add_use(self, key: apikeys.ActiveKey, status: int, external_id: str | None) -> None:
        apikeys.log_use(db.session, key.id, key.channel, request.method, request.path, status,
                        external_id, request.remote_addr)

    @expose("/<channel>", methods=["POST"])
    @safe
    def post_demand(self, channel: str) -> Any:
        """Register a demand of an external platform, exactly once per external_id.
        ---
        post:
          summary: Register a demand (idempotent on external_id)
          parameters:
          - {in: path, name: channel, required: true, schema: {type: string,
             enum: [hotline_12345, three_services, grassroots_grid, oa_demand]}}
          - {in: header, name: X-API-Key, required: true, schema: {type: string}}
          requestBody:
            required: true
            content:
              application/json:
                schema: {$ref: '#/components/schemas/DemandSchema'}
          responses:
            201:
              description: registered
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DemandReceiptSchema'}
            200:
              description: the same demand again; the existing order
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/DemandReceiptSchema'}
            400: {description: a field is missing or invalid; the message names it}
            401: {description: no key, an unknown or revoked key, or a key of another channel}
            404: {description: the channel takes no demands through this API}
            409: {description: the external_id was registered with a different payload}
            413: {description: the body is too large}
        """
        if channel not in intake.API_CHANNELS:
            return self.response(404, message=f"no intake for channel {channel}")
        if current_app.config.get("INTAKE_MODE") == "queue":
            return self.response(404, message="demands are taken by the intake gateway (INTAKE_MODE=queue)")
        key, refusal = self._authenticate(channel)
        if refusal is not None:
            return refusal
        assert key is not None
        external_id = None
        status = 500
        receipt: dict[str, Any] = {}
        committed = False

        def before_commit(order: Any, created: bool) -> None:
            # The key's use goes into the registration's own transaction (one commit), and
            # the receipt is read before the commit expires the order.
            self._add_use(key, 201 if created else 200, external_id)
            receipt.update(id=order.id, number=order.number, state=order.state,
                           deadline=order.deadline, created=created)

        try:
            if (request.content_length or 0) > settings.intake_max_body_bytes:
                status = 413
                return self.response(413, message=f"the body is larger than "
                                     f"{settings.intake_max_body_bytes} bytes", field="body")
            request.max_content_length = settings.intake_max_body_bytes
            try:
                data = json.loads(request.get_data(cache=False) or b"")
            except (ValueError, UnicodeDecodeError) as error:
                status = 400
                return self.response(400, message=f"the body is not valid JSON: {error}", field="body")
            if isinstance(data, dict) and isinstance(data.get("external_id"), str):
                external_id = data["external_id"]
            try:
                demand = intake.validate(data, utcnow())
                intake.intake(db.session, _actor(key), channel, demand, station_id=key.station_id,
                              before_commit=before_commit)
                committed = True
            except InvalidInput as error:
                status = 400
                raise error
            except intake.PayloadConflict:
                status = 409
                raise
            status = 201 if receipt.pop("created") else 200
            return self.response(status, **_RECEIPT.dump(receipt))
        finally:
            if not committed:  # refused, or failed before its commit: logged on its own
                self._log(key, status, external_id)

    @expose("/<channel>/feedback", methods=["GET"])
    @safe
    def get_feedback(self, channel: str) -> Any:
        """Results of this channel's orders after a cursor (or, the older way, since a time).
        ---
        get:
          summary: Results to close the source platform's tickets
          description: >-
            With `after` (start at 0), each result once, in the order results were committed,
            as the order stood after the action; pass the answer's `cursor` as the next
            `after`: no result is skipped or repeated.  With `since` (a time, the older way),
            each order changed after it, as it stands now; the answer's `cursor` hands over
            to `after` once a page holds everything after `since`.
          parameters:
          - {in: path, name: channel, required: true, schema: {type: string}}
          - {in: header, name: X-API-Key, required: true, schema: {type: string}}
          - {in: query, name: after, schema: {type: integer, minimum: 0}}
          - {in: query, name: since, schema: {type: string, format: date-time}}
          - {in: query, name: limit, schema: {type: integer, minimum: 1, maximum: 500}}
          responses:
            200:
              description: state, resolution, resolved_at and evaluation of each result
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/FeedbackPageSchema'}
            400: {description: bad after, since or limit; the message names it}
            401: {description: no key, an unknown or revoked key, or a key of another channel}
            404: {description: the channel takes no demands through this API}
        """
        if channel not in intake.API_CHANNELS:
            return self.response(404, message=f"no intake for channel {channel}")
        key, refusal = self._authenticate(channel)
        if refusal is not None:
            return refusal
        assert key is not None
        status = 400
        try:
            after, since = None, None
            raw_after = request.args.get("after")
            if raw_after is not None:
                if not (raw_after.isascii() and raw_after.isdigit()) or len(raw_after) > 18:
                    raise InvalidInput("after must be a cursor: a whole number from 0", field="after")
                after = int(raw_after)
            if request.args.get("since"):
                if after is not None:
                    raise InvalidInput("give either after or since, not both", field="after")
                since = intake.parse_time(request.args["since"], "since")
            raw_limit = request.args.get("limit", "500")
            if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 500:
                raise InvalidInput("limit must be between 1 and 500", field="limit")
            # The sequencer works on a connection of its own: end this session's transaction
            # (on SQLite it holds the write lock) before it runs.
            db.session.commit()
            feedback.number_results(db.engine)
            page = feedback.feedback_page(db.session, channel, after=after, since=since,
                                          limit=int(raw_limit))
            status = 200
            return self.response(200, **schemas.FeedbackPageSchema().dump(
                {"result": page.results, "cursor": page.cursor, "until": page.until}))
        finally:
            self._log(key, status)


def register(appbuilder: Any) -> None:
    appbuilder.add_api(IntakeApi)
