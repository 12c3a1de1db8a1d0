"""The landing page after sign-in."""

from __future__ import annotations

from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose


class GridCareIndexView(IndexView):
    index_template = "index.html"

    @expose("/")
    def index(self):  # type: ignore[no-untyped-def]
        user = g.get("user")
        if user is not None and getattr(user, "is_authenticated", False):
            return redirect(url_for("WorkOrderView.list"))
        return redirect(url_for("AuthDBView.login"))
