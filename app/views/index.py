"""The landing page after sign-in: each role's own start page."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose

from app.workflow.actor import DISTRICT_MANAGER, STATION_MANAGER


def start_page(actor: Any) -> str:
    """Where a role starts its day: directors and station managers on the indicator
    dashboard, district managers on the orders assigned to them, everyone else on the
    order list of their scope."""
    if actor is not None and not actor.is_admin:
        if STATION_MANAGER in actor.roles:
            return url_for("DashboardView.show")
        if DISTRICT_MANAGER in actor.roles and actor.staff_id:
            return url_for("WorkOrderView.list", _flt_0_assignee=actor.staff_id)
    return url_for("WorkOrderView.list")


class GridCareIndexView(IndexView):
    index_template = "index.html"

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        from app.views.common import current_actor

        user = g.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return redirect(start_page(current_actor()))
        return redirect(url_for("AuthDBView.login"))
