"""Marketing-system sync screens for administrators: the runs with their counts, and the
quarantine: each bad row with its row number, raw content and reason, to be corrected and
re-played (or discarded)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import action, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l

from app.extensions import db
from app.jobs.sync import TARGETS, InvalidRow, replay_quarantined
from app.models.base import utcnow
from app.models.sync import QuarantinedRow, QuarantineStatus, SyncKind, SyncRun, SyncStatus
from app.views.common import COMMON_LABELS, GridCareModelView, current_actor, label_formatter
from app.views.workorder import local_time

_LABELS = {
    **COMMON_LABELS,
    "kind": _l("Kind"), "filename": _l("File"), "checksum": _l("Checksum"),
    "file_size": _l("Size"), "file_format": _l("Format"), "encoding": _l("Encoding"), "holder": _l("Process"),
    "last_row": _l("Last committed row"), "rows_read": _l("Read"), "inserted": _l("Inserted"),
    "updated": _l("Updated"), "unchanged": _l("Unchanged"), "quarantined": _l("Quarantined"),
    "resumed_count": _l("Resumed"), "seconds": _l("Seconds"), "row_number": _l("Row"),
    "raw": _l("Raw content"), "created_at": _l("Quarantined at"), "resolved_at": _l("Handled at"),
    "run": _l("Sync run"),
}


class SyncRunView(GridCareModelView):
    datamodel = SQLAInterface(SyncRun)
    list_title = _l("Sync runs")
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    list_columns = ["kind", "filename", "status", "rows_read", "inserted", "updated", "unchanged",
                    "quarantined", "resumed_count", "seconds", "started_at", "finished_at"]
    show_columns = ["kind", "filename", "checksum", "file_size", "file_format", "encoding", "status",
                    "holder", "last_row", "rows_read", "inserted", "updated", "unchanged",
                    "quarantined", "resumed_count", "seconds", "error", "started_at", "finished_at"]
    search_columns = ["kind", "filename", "status", "started_at"]
    formatters_columns = {"kind": label_formatter(SyncKind), "status": label_formatter(SyncStatus),
                          "started_at": local_time, "finished_at": local_time}
    label_columns = _LABELS


class QuarantinedRowView(GridCareModelView):
    datamodel = SQLAInterface(QuarantinedRow)
    list_title = _l("Quarantined rows")
    base_permissions = ["can_list", "can_show", "can_replay", "can_discard"]
    base_order = ("id", "asc")
    list_columns = ["kind", "filename", "row_number", "reason", "status", "created_at"]
    show_columns = ["kind", "filename", "row_number", "raw", "reason", "status", "created_at",
                    "resolved_at", "run"]
    search_columns = ["kind", "filename", "row_number", "reason", "status"]
    formatters_columns = {"kind": label_formatter(SyncKind), "status": label_formatter(QuarantineStatus),
                          "created_at": local_time, "resolved_at": local_time}
    label_columns = _LABELS
    show_template = "sync/quarantine_show.html"

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk: Any) -> Any:
        widgets = self._show(pk)
        item = db.session.get(QuarantinedRow, int(pk))
        if item is None:
            abort(404)
        return self._render_replay(item, widgets, item.data or {})

    def _render_replay(self, item: QuarantinedRow, widgets: Any, values: dict[str, Any]) -> Any:
        columns = TARGETS[item.kind].columns
        return self.render_template(self.show_template, pk=item.id, title=self.show_title,
                                    widgets=widgets, related_views=[], item=item, columns=columns,
                                    values=values, open=item.status == QuarantineStatus.OPEN.value)

    @expose("/replay/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("replay")
    def replay(self, pk: int) -> Any:
        item = db.session.get(QuarantinedRow, pk)
        if item is None:
            abort(404)
        corrected = {c.name: request.form.get(c.name, "").strip() for c in TARGETS[item.kind].columns
                     if c.name in request.form}
        actor = current_actor()
        try:
            outcome = replay_quarantined(db.session, pk, corrected, actor.user_id if actor else None)
            db.session.commit()
        except InvalidRow as error:
            db.session.rollback()
            flash(gettext("Still not valid: %(reason)s", reason=str(error)), "danger")
            item = db.session.get(QuarantinedRow, pk)
            return self._render_replay(item, self._show(pk), corrected)
        flash(gettext("Row %(row)s re-played: %(outcome)s", row=item.row_number, outcome=gettext(outcome)),
              "success")
        return redirect(url_for("QuarantinedRowView.list"))

    @expose("/discard/<int:pk>", methods=["POST"])
    @has_access
    @permission_name("discard")
    def discard(self, pk: int) -> Any:
        item = db.session.get(QuarantinedRow, pk)
        if item is None:
            abort(404)
        if item.status == QuarantineStatus.OPEN.value:
            item.status = QuarantineStatus.DISCARDED.value
            item.resolved_at = utcnow()
            db.session.commit()
            flash(gettext("Row %(row)s discarded", row=item.row_number), "success")
        return redirect(url_for("QuarantinedRowView.list"))

    @action("discard_many", _l("Discard"), _l("Discard the selected rows?"), "fa-trash", single=False)
    def discard_many(self, items: Any) -> Any:
        items = items if isinstance(items, list) else [items]
        for item in items:
            if item.status == QuarantineStatus.OPEN.value:
                item.status, item.resolved_at = QuarantineStatus.DISCARDED.value, utcnow()
        db.session.commit()
        self.update_redirect()
        return redirect(self.get_redirect())


def register(appbuilder: Any) -> None:
    appbuilder.add_view(SyncRunView, "Sync runs", icon="fa-refresh", category="Scheduling",
                        label=_l("Sync runs"), category_label=_l("Scheduling"))
    appbuilder.add_view(QuarantinedRowView, "Quarantined rows", icon="fa-exclamation-triangle",
                        category="Scheduling", label=_l("Quarantined rows"), category_label=_l("Scheduling"))
