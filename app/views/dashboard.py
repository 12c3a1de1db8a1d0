"""The indicator dashboard (指标看板): the viewer's own scope by default, any scope under it on
request (``?scope=team:3&month=2026-10``); every chart links to the work-order list behind it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, jsonify, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.security.decorators import permission_name
from flask_babel import gettext, lazy_gettext as _l

from app import clock
from app.arguments import ANY_CLOCK
from app.extensions import db
from app.indicators import parse_month, resolve_scope
from app.indicators.queries import dashboard_indicators
from app.indicators.scope import Scope, parse_scope_arg, scope_choices
from app.models.base import utcnow
from app.models.clocks import ClockKind
from app.models.workorder import OPEN_STATES, Channel, DemandType
from app.views.common import current_actor
from app.workflow.errors import DomainError, OutOfScope


def order_list_url(scope: Scope | None = None, period: Any = None, **filters: Any) -> str:
    """A Flask-AppBuilder list URL with search filters (``_flt_<index>_<column>``).

    Indexes follow FAB's filter tables: strings 3 = equal, 8 = in, 7 = not equal; booleans
    0 = equal, 1 = not equal; datetimes 1 = after, 2 = before; relations 0 = equal.  The list
    is row-scoped to the viewer already; a grid or person scope adds its own filter."""
    args: list[tuple[str, Any]] = []
    for key, value in filters.items():
        if isinstance(value, (list, tuple)):
            args += [(key, v) for v in value]
        else:
            args.append((key, value))
    if scope is not None and scope.kind == "grid":
        args.append(("_flt_0_grid", scope.id))
    if scope is not None and scope.kind == "person":
        args.append(("_flt_0_assignee", scope.id))
    if period is not None:
        args.append(("_flt_1_registered_at", period.start.isoformat()))
        args.append(("_flt_2_registered_at", period.end.isoformat()))
    return url_for("WorkOrderView.list") + ("?" + urlencode(args) if args else "")


def _links(data: dict[str, Any], scope: Scope, period: Any) -> dict[str, Any]:
    def url(**f: Any) -> str:
        return order_list_url(scope, period, **f)

    orders = data["orders"]
    return {
        "timely": url(_flt_0_timely="y"),
        "untimely": url(_flt_1_timely="y"),
        "resolved": url(_flt_8_state=["resolved", "verified", "evaluated"]),
        "evaluated": url(_flt_3_state="evaluated"),
        "open": order_list_url(scope, None, _flt_8_state=list(OPEN_STATES)),
        "overdue": order_list_url(scope, None, overdue=ANY_CLOCK),
        "month_overdue": order_list_url(scope, None, overdue_month=period.label),
        "month_supervised": order_list_url(scope, None, supervised_month=period.label),
        "supervised": order_list_url(scope, None, _flt_7_supervision_level="none",
                                     _flt_8_state=[*OPEN_STATES, "resolved"]),
        "channel": {c: url(_flt_3_channel=c) for c in orders["by_channel"]},
        "demand_type": {d: url(_flt_3_demand_type=d) for d in orders["by_demand_type"]},
        "registered": url(),
        "staff": {row["staff_id"]: order_list_url(None, period, _flt_0_assignee=row["staff_id"])
                  for row in data["leaderboard"]},
    }


def default_month(local_now: Any, first_days: int) -> str:
    """The month the dashboard opens on: the current one, except during the first
    ``first_days`` days of a month, when the month just ended is the one people judge."""
    year, month = local_now.year, local_now.month
    if local_now.day <= first_days:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return f"{year:04d}-{month:02d}"


def month_choices(local_now: Any, selected: str, count: int = 24) -> list[tuple[str, str]]:
    """The month picker's options, newest first, labelled in Chinese (``2026年11月``)."""
    year, month = local_now.year, local_now.month
    values = []
    for _ in range(count):
        values.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    if selected not in values:
        values = sorted([*values, selected], reverse=True)
    return [(v, f"{int(v[:4])}年{int(v[5:])}月") for v in values]


class DashboardView(BaseView):
    route_base = "/dashboard"
    default_view = "show"
    base_permissions = ["can_show"]

    def _inputs(self) -> tuple[Any, Scope, Any]:
        actor = current_actor()
        if actor is None:
            abort(403)
        kind, ident = parse_scope_arg(request.args.get("scope"))
        try:
            scope = resolve_scope(db.session, actor, kind, ident)
            period = parse_month(request.args.get("month") or default_month(
                clock.local_now(), int(current_app.config.get("DASHBOARD_LAST_MONTH_DAYS", 5))))
        except OutOfScope as error:
            abort(403, description=error.message)
        except DomainError as error:
            abort(400, description=error.message)
        return actor, scope, period

    @expose("/")
    @has_access
    def show(self) -> Any:
        actor, scope, period = self._inputs()
        now = utcnow()
        data = dashboard_indicators(db.session, actor, scope, period, now)
        return self.render_template(
            "dashboard/index.html", data=data, links=_links(data, scope, period), scope=scope,
            period=period, choices=scope_choices(db.session, actor),
            channel_names={c.value: Channel.label_of(c.value) for c in Channel},
            demand_names={d.value: DemandType.label_of(d.value) for d in DemandType},
            clock_names={k.value: ClockKind.label_of(k.value) for k in ClockKind},
            generated_at=now, previous=period.previous_month().label,
            months=month_choices(clock.local_now(), period.label),
            report_url=url_for("EvaluationReportView.evaluation", scope=scope.key, month=period.label)
            if self.appbuilder.sm.has_access("can_evaluation", "EvaluationReportView") else None,
            title=gettext("Indicators"),
        )

    @expose("/data")
    @has_access
    @permission_name("show")
    def data(self) -> Any:
        """The same figures as JSON (for the screens' refresh and for scripts)."""
        actor, scope, period = self._inputs()
        return jsonify(dashboard_indicators(db.session, actor, scope, period, utcnow()))


def register(appbuilder: Any) -> None:
    appbuilder.add_view(DashboardView, "Dashboard", icon="fa-dashboard", category="Indicators",
                        label=_l("Dashboard"), category_label=_l("Indicators"))

