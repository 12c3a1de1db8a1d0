"""The navigation bar, cached per user and language (see ``app.security.manager.per_user``):
FAB checks a permission for every menu item on every page."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template, session
from flask_login import current_user
from markupsafe import Markup

from app.security.manager import per_user


def _render() -> Markup:
    from app.extensions import appbuilder

    return Markup(render_template("gridcare/navbar_full.html", appbuilder=appbuilder))


UNREAD = "__GC_UNREAD__"


def gridcare_navbar() -> Markup:
    if not getattr(current_user, "is_authenticated", False):
        return _render()
    cached = per_user(("navbar", current_user.id, session.get("locale")), _render)
    # The unread count changes between pages: filled into the cached bar on every page.
    from app.extensions import db
    from app.notifications import unread_count

    count = unread_count(db.session, current_user.id)
    return Markup(str(cached).replace(UNREAD, str(count) if count else ""))


def register(app: Flask) -> None:
    @app.context_processor
    def _navbar() -> dict[str, Any]:
        from app.views.calendar import calendar_warning

        return {"gridcare_navbar": gridcare_navbar, "calendar_warning": calendar_warning}
