"""Flask-AppBuilder's user and role screens, in the viewer's language: role names as the
station calls them (供电所所长, not StationManager), yes / no instead of True / False, and
the role list without the permission identifiers (the access matrix is data in the repo,
``app/security/access.py``; ``gridcare sync-roles`` applies it)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_appbuilder.security import views as fab
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext

from app.security import passwords
from app.security.access import ROLE_LABELS


def role_label(role: Any) -> str:
    name = getattr(role, "name", role)
    if name == "Public":
        return gettext("Public (not signed in)")
    return ROLE_LABELS.get(name, name)


def _roles(roles: Any) -> str:
    return "、".join(role_label(r) for r in roles or [])


def _yes_no(value: Any) -> str:
    return gettext("Yes") if value else gettext("No")


# Each subclass keeps its parent's class name: permissions, endpoints and the access matrix
# (app/security/access.py) name the views by it.
class UserDBModelView(fab.UserDBModelView):
    formatters_columns = {"roles": _roles, "active": _yes_no}

    def pre_add(self, item: Any) -> None:
        """The new account's password in the configured hash (app/security/passwords.py)."""
        item.password = passwords.hash_password(current_app.config, item.password)


class RoleModelView(fab.RoleModelView):
    list_widget = ListWidget  # FAB's role list prints the names itself, unformatted
    list_columns = ["name"]
    formatters_columns = {"name": role_label}


class UserGroupModelView(fab.UserGroupModelView):
    formatters_columns = {"roles": _roles}
