"""The work-point ledger screen (工分台账): per person and month in the viewer's scope, with a
drill-down to each person's entries (rules, rule set version, facts, reversals)."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l

from app import clock
from app.arguments import int_arg
from app.extensions import db
from app.indicators.period import parse_month
from app.points import ledger
from app.views.common import current_actor
from app.views.dashboard import month_choices
from app.workflow.errors import DomainError, OutOfScope

SOURCE_LABELS = {
    "work_order": _l("Evaluated work order"), "task": _l("Completed task"), "visit": _l("Visit"),
    "service_record": _l("On-site service record"), "safety_record": _l("Safety supervision record"),
    "equipment_record": _l("Equipment collection record"), "anomaly": _l("Box–meter anomaly rectified"),
}


class WorkPointView(BaseView):
    route_base = "/workpoints"
    default_view = "list"
    base_permissions = ["can_list"]

    def _period(self) -> Any:
        try:
            return parse_month(request.args.get("month"))
        except DomainError as error:
            abort(400, description=error.message)

    @expose("/")
    @has_access
    def list(self) -> Any:
        actor = current_actor()
        if actor is None:
            abort(403)
        period = self._period()
        rows = ledger.monthly_totals(db.session, actor, period)
        return self.render_template("points/ledger.html", rows=rows, period=period,
                                    months=month_choices(clock.local_now(), period.label),
                                    title=gettext("Work-point ledger"))

    @expose("/person/<int:staff_id>")
    @has_access
    @permission_name("list")
    def person(self, staff_id: int) -> Any:
        actor = current_actor()
        if actor is None:
            abort(403)
        period = self._period()
        try:
            person = ledger.find_staff(db.session, actor, str(staff_id))
            source = ledger.check_source(request.args.get("source"))
            after_id = int_arg("after_id")
        except OutOfScope as error:
            abort(403, description=error.message)
        except DomainError as error:
            abort(404 if error.field == "staff" else 400, description=error.message)
        page = ledger.entries(db.session, actor, staff=person, period=period, source=source,
                              after_id=after_id, limit=200)
        return self.render_template("points/person.html", person=person, page=page, period=period,
                                    months=month_choices(clock.local_now(), period.label),
                                    source_labels=SOURCE_LABELS, source=source, local_tz=clock.LOCAL_TZ,
                                    title=gettext("Work points of %(name)s", name=person.name))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(WorkPointView, "Work-point ledger", icon="fa-star", category="Indicators",
                        label=_l("Work-point ledger"), category_label=_l("Indicators"))


