"""The mobile app's policy announcements: the caller's current ones with their read state,
one announcement with its attachments, the read receipt, and attachment downloads."""

from __future__ import annotations

from typing import Any

from flask import current_app, send_file
from flask_appbuilder.api import BaseApi, expose, protect

from app import announcements as service
from app.api.common import api_actor, iso, safe
from app.api.idempotency import idempotent
from app.api.schemas import announcement as schemas
from app.extensions import db
from app.models.announcement import Announcement, AnnouncementAttachment
from app.security.manager import current_staff_user
from app.workflow.errors import Forbidden, NotFound


def announcement_json(item: Announcement, read_at: Any, detail: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": item.id, "title": item.title, "publish_from": iso(item.publish_from),
        "publish_until": iso(item.publish_until), "read": read_at is not None, "read_at": iso(read_at),
        "attachment_count": len(item.attachments),
    }
    if detail:
        body["body"] = item.body
        body["attachments"] = [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size,
             "url": f"/api/v1/announcement/{item.id}/attachment/{a.id}"}
            for a in item.attachments
        ]
    return body


def _reader() -> tuple[Any, int | None]:
    actor = api_actor()
    user = current_staff_user()
    if user is None:
        raise Forbidden("sign in first")
    return user, actor.station_id


class AnnouncementApi(BaseApi):
    resource_name = "announcement"
    openapi_spec_tag = "Announcements"
    allow_browser_login = False
    base_permissions = ["can_get", "can_post"]
    method_permission_name = {"list_current": "get", "get_one": "get", "attachment": "get",
                              "mark_read": "post"}
    openapi_spec_component_schemas = schemas.COMPONENTS

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def list_current(self) -> Any:
        """The caller's current announcements, newest first.
        ---
        get:
          summary: Current policy announcements for the caller's station and roles
          responses:
            200:
              description: announcements with their read state
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnnouncementListSchema'}
            401: {$ref: '#/components/responses/401'}
        """
        user, station_id = _reader()
        items = service.current_for(db.session, user, station_id)
        return self.response(200, **schemas.AnnouncementListSchema().dump(
            {"result": [announcement_json(a, r) for a, r in items], "unread": sum(1 for _, r in items if r is None)}))

    @expose("/<int:pk>", methods=["GET"])
    @protect()
    @safe
    def get_one(self, pk: int) -> Any:
        """One announcement with its body and attachments (reading it does not mark it read).
        ---
        get:
          summary: One announcement
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the announcement
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/AnnouncementResultSchema'}
            404: {$ref: '#/components/responses/404'}
        """
        user, station_id = _reader()
        item = service.get_for(db.session, user, station_id, pk)
        read_at = next((r for a, r in service.current_for(db.session, user, station_id) if a.id == pk), None)
        return self.response(200, **schemas.AnnouncementResultSchema().dump(
            {"result": announcement_json(item, read_at, detail=True)}))

    @expose("/<int:pk>/read", methods=["POST"])
    @protect()
    @idempotent
    @safe
    def mark_read(self, pk: int) -> Any:
        """Record the caller's read receipt (idempotent: the first reading time is kept).
        ---
        post:
          summary: Mark an announcement read
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          responses:
            200:
              description: the receipt
              content:
                application/json:
                  schema: {$ref: '#/components/schemas/ReadReceiptSchema'}
            404: {$ref: '#/components/responses/404'}
        """
        user, station_id = _reader()
        item = service.get_for(db.session, user, station_id, pk)
        read_at = service.mark_read(db.session, item.id, user.id)
        db.session.commit()
        return self.response(200, **schemas.ReadReceiptSchema().dump({"read_at": read_at}))

    @expose("/<int:pk>/attachment/<int:attachment_id>", methods=["GET"])
    @protect()
    @safe
    def attachment(self, pk: int, attachment_id: int) -> Any:
        """Download one attachment.
        ---
        get:
          summary: An announcement's attachment
          parameters:
          - {in: path, name: pk, required: true, schema: {type: integer}}
          - {in: path, name: attachment_id, required: true, schema: {type: integer}}
          responses:
            200:
              description: the file, in its own media type
              content: {'*/*': {schema: {type: string, format: binary}}}
            404: {$ref: '#/components/responses/404'}
        """
        user, station_id = _reader()
        item = service.get_for(db.session, user, station_id, pk)
        found = db.session.get(AnnouncementAttachment, attachment_id)
        if found is None or found.announcement_id != item.id:
            raise NotFound("no such attachment")
        return send_file(service.attachment_path(found, current_app.config["DOCUMENT_DIR"]),
                         mimetype=found.content_type, as_attachment=True, download_name=found.filename)


def register(appbuilder: Any) -> None:
    appbuilder.add_api(AnnouncementApi)
