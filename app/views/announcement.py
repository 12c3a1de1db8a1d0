"""Policy announcement screens: administrators and station managers publish them (window,
target stations and roles, attachments) and see who has read them; every member of staff
reads the current ones under "Announcements", which records the read receipt."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext, lazy_gettext as _l
from sqlalchemy import exists, or_, select

from app import announcements as service
from app.extensions import db
from app.models.announcement import Announcement, AnnouncementAttachment, AnnouncementRead, announcement_station
from app.models.base import utcnow
from app.security.manager import current_staff_user
from app.views.common import GridCareModelView, ScopeFilter, StationRowScopeFilter, committed, current_actor
from app.views.workorder import local_time
from app.workflow.errors import DomainError

_LABELS = {
    "title": _l("Title"), "body": _l("Body"), "publish_from": _l("Published from"),
    "publish_until": _l("Published until"), "stations": _l("Target stations"),
    "roles": _l("Target roles"), "attachments": _l("Attachments"), "created_at": _l("Created at"),
}


class AnnouncementScopeFilter(ScopeFilter):
    """Station managers manage their own announcements and those aimed at their station."""

    @staticmethod
    def scope_of(actor: Any, model: Any) -> Any:  # type: ignore[override]
        if actor.is_admin:
            return model.id == model.id
        return or_(model.created_by_id == actor.user_id, exists().where(
            announcement_station.c.announcement_id == model.id,
            announcement_station.c.station_id == actor.station_id))


class AnnouncementView(GridCareModelView):
    datamodel = SQLAInterface(Announcement)
    list_title = _l("Policy announcements")
    show_template = "announcement/manage_show.html"
    base_filters = [["id", AnnouncementScopeFilter, None]]
    base_order = ("publish_from", "desc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete", "can_attach"]
    list_columns = ["title", "publish_from", "publish_until", "stations", "roles", "created_at"]
    show_columns = ["title", "body", "publish_from", "publish_until", "stations", "roles", "created_at"]
    add_columns = edit_columns = ["title", "body", "publish_from", "publish_until", "stations", "roles"]
    search_columns = ["title", "body", "publish_from", "stations"]
    formatters_columns = {"publish_from": local_time, "publish_until": local_time, "created_at": local_time}
    description_columns = {"stations": _l("Empty: every station"), "roles": _l("Empty: every role")}
    # A station manager aims announcements at their own station only.
    add_form_query_rel_fields = edit_form_query_rel_fields = {
        "stations": [["id", StationRowScopeFilter, None]]}
    label_columns = _LABELS

    def pre_add(self, item: Announcement) -> None:
        actor = current_actor()
        item.created_by_id = actor.user_id if actor else None
        item.publish_from = item.publish_from or utcnow()
        if item.publish_from.tzinfo is None:
            from app.workflow.calendar import LOCAL_TZ

            item.publish_from = item.publish_from.replace(tzinfo=LOCAL_TZ)
        self._aware(item)

    def pre_update(self, item: Announcement) -> None:
        self._aware(item)

    @staticmethod
    def _aware(item: Announcement) -> None:
        from app.workflow.calendar import LOCAL_TZ

        for name in ("publish_from", "publish_until"):
            value = getattr(item, name)
            if value is not None and value.tzinfo is None:
                setattr(item, name, value.replace(tzinfo=LOCAL_TZ))
        if item.publish_until and item.publish_from and item.publish_until <= item.publish_from:
            raise ValueError(gettext("The end of the window must be after its start."))

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        widgets = self._show(pk)
        item = db.session.get(Announcement, int(pk))
        if item is None:
            abort(404)
        receipts = db.session.execute(
            select(User.username, User.first_name, User.last_name, AnnouncementRead.read_at)
            .join(AnnouncementRead, AnnouncementRead.user_id == User.id)
            .where(AnnouncementRead.announcement_id == item.id).order_by(AnnouncementRead.read_at)
        ).all()
        return self.render_template(self.show_template, pk=pk, title=self.show_title, widgets=widgets,
                                    related_views=[], item=item, receipts=receipts, local_time=local_time)

    @expose("/attach/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("attach")
    def attach(self, pk: int) -> Any:
        self._show(pk)  # 404 outside the viewer's scope
        item = db.session.get(Announcement, pk)
        upload = request.files.get("file")
        if item is None or upload is None:
            abort(400)
        with committed() as outcome:
            service.store_attachment(db.session, item, upload.filename or "", upload.read(),
                                     upload.mimetype, current_app.config["DOCUMENT_DIR"])
        if outcome.ok:
            flash(gettext("Attachment added"), "success")
        return redirect(url_for("AnnouncementView.show", pk=pk))


class MyAnnouncementsView(BaseView):
    """The reader's side: current announcements, unread first marked, each opened = read."""

    route_base = "/announcements"
    default_view = "index"
    base_permissions = ["can_list", "can_show"]

    def _reader(self) -> tuple[Any, int | None]:
        user = current_staff_user()
        actor = current_actor()
        if user is None or actor is None:
            abort(403)
        return user, actor.station_id

    @expose("/")
    @has_access
    @permission_name("list")
    def index(self) -> Any:
        user, station_id = self._reader()
        items = service.current_for(db.session, user, station_id)
        return self.render_template("announcement/list.html", items=items, local_time=local_time,
                                    title=gettext("Announcements"))

    @expose("/<int:pk>")
    @has_access
    @permission_name("show")
    def read(self, pk: int) -> Any:
        user, station_id = self._reader()
        try:
            item = service.get_for(db.session, user, station_id, pk)
        except DomainError:
            abort(404)
        read_at = service.mark_read(db.session, item.id, user.id)
        db.session.commit()
        return self.render_template("announcement/read.html", item=item, read_at=read_at,
                                    local_time=local_time, title=item.title)

    @expose("/<int:pk>/attachment/<int:attachment_id>")
    @has_access
    @permission_name("show")
    def attachment(self, pk: int, attachment_id: int) -> Any:
        user, station_id = self._reader()
        try:
            item = service.get_for(db.session, user, station_id, pk)
        except DomainError:
            abort(404)
        found = db.session.get(AnnouncementAttachment, attachment_id)
        if found is None or found.announcement_id != item.id:
            abort(404)
        return send_file(service.attachment_path(found, current_app.config["DOCUMENT_DIR"]),
                         mimetype=found.content_type, as_attachment=True, download_name=found.filename)


def register(appbuilder: Any) -> None:
    appbuilder.add_view(MyAnnouncementsView, "Announcements", icon="fa-bullhorn", category="Announcements",
                        label=_l("Announcements"), category_label=_l("Announcements"))
    appbuilder.add_view(AnnouncementView, "Manage announcements", icon="fa-pencil", category="Announcements",
                        label=_l("Manage announcements"), category_label=_l("Announcements"))
