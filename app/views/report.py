"""Report screens: subscriptions (administrators), the report archive with downloads (scoped
like every list), and the evaluation report of the viewer's own scope rendered on demand."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, abort, request, send_file, url_for
from markupsafe import Markup
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, true
from wtforms.validators import ValidationError

from app.extensions import db
from app.indicators import parse_month, resolve_scope
from app.indicators.scope import parse_scope_arg
from app.models.base import utcnow
from app.models.report import ReportArchive, ReportKind, ReportScopeKind, ReportSubscription
from app.reports.render import render_evaluation_pdf
from app.reports.runs import archive_path, config_of
from app.views.common import COMMON_LABELS, GridCareModelView, ScopeFilter, current_actor, label_formatter
from app.views.workorder import local_time
from app.workflow.actor import Actor
from app.workflow.errors import DomainError, OutOfScope

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _valid_recipients(form: Any, field: Any) -> None:
    addresses = [a for a in re.split(r"[\s,;]+", field.data or "") if a]
    if not addresses:
        raise ValidationError(_l("Give at least one e-mail address."))
    bad = [a for a in addresses if not _EMAIL.match(a)]
    if bad:
        raise ValidationError(_l("Not an e-mail address: %(address)s", address=bad[0]))


class ReportSubscriptionView(GridCareModelView):
    datamodel = SQLAInterface(ReportSubscription)
    list_title = _l("Report subscriptions")
    list_columns = ["name", "kind", "scope_kind", "station", "team", "recipients", "active"]
    add_columns = edit_columns = ["name", "kind", "scope_kind", "station", "team", "recipients", "active"]
    show_columns = list_columns + ["created_at"]
    form_choices = {"kind": ReportKind.choices(), "scope_kind": ReportScopeKind.choices()}
    validators_columns = {"recipients": [_valid_recipients]}
    formatters_columns = {"kind": label_formatter(ReportKind), "scope_kind": label_formatter(ReportScopeKind),
                          "created_at": local_time}
    description_columns = {"recipients": _l("One e-mail address a line (or separated by commas)."),
                           "team": _l("Only for team reports; the team must belong to the station.")}
    label_columns = {**COMMON_LABELS, "kind": _l("Report"), "scope_kind": _l("Scope"),
                     "recipients": _l("Recipients"), "created_at": _l("Created at")}

    def _check(self, item: ReportSubscription) -> None:
        if item.scope_kind == ReportScopeKind.TEAM.value:
            if item.team is None:
                raise ValueError(str(_l("A team report needs a team.")))
            item.station_id = item.team.station_id
            item.station = item.team.station
        else:
            item.team = None
            item.team_id = None

    def pre_add(self, item: ReportSubscription) -> None:
        self._check(item)

    def pre_update(self, item: ReportSubscription) -> None:
        self._check(item)


class ArchiveScopeFilter(ScopeFilter):
    """Station managers see their station's reports, team leaders their team's."""

    @staticmethod
    def scope_of(actor: Actor, model: Any) -> Any:  # type: ignore[override]
        return archive_clause(actor, model)


def archive_clause(actor: Actor, model: Any = ReportArchive) -> Any:
    level = actor.scope_level()
    if level == "all":
        return true()
    if level == "station" and actor.station_id:
        return model.station_id == actor.station_id
    if level == "team" and actor.team_id:
        return model.team_id == actor.team_id
    return false()


class ReportArchiveView(GridCareModelView):
    datamodel = SQLAInterface(ReportArchive)
    list_title = _l("Report archive")
    base_filters = [["id", ArchiveScopeFilter, None]]
    base_order = ("generated_at", "desc")
    base_permissions = ["can_list", "can_show", "can_download"]
    list_columns = ["title", "month", "station", "team", "generated_at", "size_bytes", "delivery_summary", "id"]
    show_columns = ["title", "month", "scope_kind", "station", "team", "subscription", "generated_at",
                    "size_bytes", "sha256", "render_seconds", "delivery_summary"]
    search_columns = ["month", "title"]
    formatters_columns = {"generated_at": local_time, "scope_kind": label_formatter(ReportScopeKind),
                          "id": lambda pk: Markup('<a class="archive-download" href="%s">PDF</a>')
                          % url_for("ReportArchiveView.download", pk=pk)}
    label_columns = {**COMMON_LABELS, "title": _l("Report"), "month": _l("Month"),
                     "generated_at": _l("Generated at"), "size_bytes": _l("Size (bytes)"),
                     "delivery_summary": _l("Deliveries"), "scope_kind": _l("Scope"),
                     "subscription": _l("Subscription"), "sha256": "SHA-256",
                     "render_seconds": _l("Render time (s)"), "id": _l("Download")}

    @expose("/download/<int:pk>")
    @has_access
    @permission_name("download")
    def download(self, pk: int) -> Any:
        actor = current_actor()
        if actor is None:
            abort(403)
        archive = db.session.scalar(select(ReportArchive).where(ReportArchive.id == pk, archive_clause(actor)))
        if archive is None:
            abort(404)
        path = archive_path(archive, config_of(self.appbuilder.app))
        if not path.exists():
            abort(404)
        return send_file(path, mimetype="application/pdf", as_attachment=True,
                         download_name=f"{archive.title}.pdf")


class EvaluationReportView(BaseView):
    """The monthly evaluation report of the viewer's own scope (or a scope under it), now."""

    route_base = "/report"
    default_view = "evaluation"
    base_permissions = ["can_evaluation"]

    @expose("/evaluation")
    @has_access
    def evaluation(self) -> Any:
        actor = current_actor()
        if actor is None:
            abort(403)
        kind, ident = parse_scope_arg(request.args.get("scope"))
        try:
            scope = resolve_scope(db.session, actor, kind, ident)
            period = parse_month(request.args.get("month"))
        except OutOfScope as error:
            abort(403, description=error.message)
        except DomainError as error:
            abort(400, description=error.message)
        rendered = render_evaluation_pdf(db.session, scope, period, utcnow(), actor=actor,
                                         targets=self.appbuilder.app.config.get("REPORT_TARGETS"))
        response = Response(rendered.pdf, mimetype="application/pdf")
        response.headers["Content-Disposition"] = f"inline; filename=evaluation-{period.label}.pdf"
        return response


def register(appbuilder: Any) -> None:
    appbuilder.add_view(ReportArchiveView, "Report archive", icon="fa-archive", category="Indicators",
                        label=_l("Report archive"), category_label=_l("Indicators"))
    appbuilder.add_view(ReportSubscriptionView, "Report subscriptions", icon="fa-envelope",
                        category="Indicators", label=_l("Report subscriptions"), category_label=_l("Indicators"))
    appbuilder.add_view_no_menu(EvaluationReportView)
