"""The audit log screen: administrators read it; nobody can change it."""

from __future__ import annotations

from typing import Any

from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext, lazy_gettext as _l

from app.models.security import AuditEntry
from app.views.common import GridCareModelView, code_value
from app.views.workorder import local_time


_OPERATIONS = {"create": _l("created"), "update": _l("updated"), "delete": _l("deleted"), "read": _l("read (personal data)")}


_PSEUDO_USERS = {"anonymous": lambda: gettext("anonymous"), "system": lambda: gettext("system")}


class AuditEntryView(GridCareModelView):
    datamodel = SQLAInterface(AuditEntry)
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    list_columns = ["at", "username", "remote_addr", "operation", "entity", "entity_id"]
    show_columns = ["at", "username", "user_id", "remote_addr", "operation", "entity", "entity_id", "changes"]
    search_columns = ["at", "username", "operation", "entity", "entity_id", "remote_addr"]
    formatters_columns = {"at": local_time, "operation": lambda value: _OPERATIONS.get(value, value),
                          "username": lambda value: _PSEUDO_USERS[value]() if value in _PSEUDO_USERS else value,
                          "entity": code_value}
    label_columns = {"at": _l("When"), "username": _l("Who"), "user_id": _l("User"),
                     "remote_addr": _l("From address"), "operation": _l("Operation"),
                     "entity": _l("Record type"), "entity_id": _l("Record"), "changes": _l("Changes")}


def register(appbuilder: Any) -> None:
    appbuilder.add_view(AuditEntryView, "Audit log", icon="fa-history", category="Security",
                        label=_l("Audit log"), category_label=_l("Security"))
