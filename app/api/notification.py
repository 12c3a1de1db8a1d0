"""The mobile app's notification list: SLA warnings and whatever else is addressed to the caller."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import func, select

from app.api.common import api_actor, iso, json_body, safe
from app.api.idempotency import idempotent
from app.api.schemas import notification as schemas
from app.extensions import db
from app.models.base import utcnow
from app.models.notification import Notification
from app.notifications import hhmm, preference_of, save_preference
from app.workflow.errors import InvalidInput, NotFound


def notification_json(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
            "order_id": n.order_id, "created_at": iso(n.created_at), "read_at": iso(n.read_at)}


def _preference_json(pref: Any) -> dict[str, Any]:
    return {"by_mail": pref.by_mail, "by_sms": pref.by_sms, "sms_number": pref.sms_number,
            "quiet_start": hhmm(pref.quiet_start) or None, "quiet_end": hhmm(pref.quiet_end) or None}


class NotificationApi(BaseApi):
    resource_name = "notification"
    openapi_spec_tag = "Notifications"
    allow_browser_login = False
    base_permissions = ["can_get", "can_post"]
    method_permission_name = {"list_mine": "get", "mark_read": "post", "get_preferences": "get",
                              "put_preferences": "post"}
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def list_mine(self) -> Any:
        """The caller's notifications, newest first.
        ---
        get:
          summary: The caller's notifications
          parameters:
          - {in: query, name: unread, schema: {type: boolean}, description: only the unread ones}
          responses:
            200:
              description: notifications and the unread count
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/NotificationListSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        query = select(Notification).where(Notification.user_id == actor.user_id)
        if request.args.get("unread") in ("1", "true", "yes"):
            query = query.where(Notification.read_at.is_(None))
        items = db.session.scalars(query.order_by(Notification.id.desc()).limit(200)).all()
        unread = db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.user_id == actor.user_id, Notification.read_at.is_(None)))
        return self.response(200, **schemas.NotificationListSchema().dump(
            {"result": [notification_json(n) for n in items], "unread": unread}))

    @expose("/<int:pk>/read", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def mark_read(self, pk: int) -> Any:
        """Mark one of the caller's notifications read.
        ---
        post:
          summary: Mark a notification read
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the notification
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/NotificationResultSchema'}
            404: {$ref: '#/components/responses/404'}
        """
        actor = api_actor()
        item = db.session.get(Notification, pk)
        if item is None or item.user_id != actor.user_id:
            raise NotFound("no such notification")
        if item.read_at is None:
            item.read_at = utcnow().replace(microsecond=0)
            db.session.commit()
        return self.response(200, **schemas.NotificationResultSchema().dump({"result": notification_json(item)}))


    @expose("/preferences", methods=["GET"])
    @protect()
    @safe
    def get_preferences(self) -> Any:
        """The caller's notification channels and quiet hours.
        ---
        get:
          summary: The caller's notification preferences
          responses:
            200:
              description: the preferences
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/NotificationPreferenceResultSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        return self.response(200, **schemas.NotificationPreferenceResultSchema().dump(
            {"result": _preference_json(preference_of(db.session, actor.user_id))}))

    @expose("/preferences", methods=["PUT"])
    @protect()
    @idempotent
    @safe
    def put_preferences(self) -> Any:
        """Set the caller's channels and quiet hours (fields left out keep their value).
        ---
        put:
          summary: Set the caller's notification preferences
          requestBody:
            content:
              application/json:
                schema: {$ref: '#/components/schemas/NotificationPreferenceSchema'}
          responses:
            200:
              description: the preferences now
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/NotificationPreferenceResultSchema'}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
        """
        actor = api_actor()
        given = json_body()
        unknown = sorted(set(given) - {"by_mail", "by_sms", "sms_number", "quiet_start", "quiet_end"})
        if unknown:
            raise InvalidInput(f"unknown field: {unknown[0]}", field=unknown[0])
        values = {**_preference_json(preference_of(db.session, actor.user_id)), **given}
        pref = save_preference(db.session, actor.user_id, now=utcnow(), **values)
        db.session.commit()
        return self.response(200, **schemas.NotificationPreferenceResultSchema().dump(
            {"result": _preference_json(pref)}))


def register(appbuilder: Any) -> None:
    appbuilder.add_api(NotificationApi)
