"""The mobile app's notification list: SLA warnings and whatever else is addressed to the caller."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_appbuilder.api import BaseApi, expose, protect
from sqlalchemy import func, select

from app.api.common import api_actor, iso, safe
from app.api.schemas import notification as schemas
from app.extensions import db
from app.models.base import utcnow
from app.models.notification import Notification
from app.workflow.errors import NotFound


def notification_json(n: Notification) -> dict[str, Any]:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
            "order_id": n.order_id, "created_at": iso(n.created_at), "read_at": iso(n.read_at)}


class NotificationApi(BaseApi):
    resource_name = "notification"
    openapi_spec_tag = "Notifications"
    allow_browser_login = False
    base_permissions = ["can_get", "can_post"]
    method_permission_name = {"list_mine": "get", "mark_read": "post"}
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


def register(appbuilder: Any) -> None:
    appbuilder.add_api(NotificationApi)
