"""The access matrix: which role holds which Flask-AppBuilder permission on which view.

Kept as data, Odoo-style: one table of (role → permission, view) patterns.  ``sync_roles``
makes the database match it exactly (adding what is missing, removing what is not listed),
and the access-matrix test compares every role's real permissions against it.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from app.workflow.actor import (
    ADMIN,
    CHANNEL_CLIENT,
    DISTRICT_MANAGER,
    OPERATOR,
    STATION_MANAGER,
    TEAM_LEADER,
)

ROLE_LABELS = {
    ADMIN: "系统管理员",
    STATION_MANAGER: "供电所所长",
    TEAM_LEADER: "班组长",
    DISTRICT_MANAGER: "台区经理",
    OPERATOR: "受理员",
    CHANNEL_CLIENT: "外部渠道",
}

READ = ("can_list", "can_show", "can_get")
WRITE = ("can_add", "can_edit", "can_post", "can_put")

# Every signed-in member of staff: own profile, password, language, the API spec, the menu.
_SELF_SERVICE: list[tuple[str, str]] = [
    ("can_userinfo", "UserDBModelView"),
    ("resetmypassword", "UserDBModelView"),
    ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"),
    ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"),
    ("can_get", "OpenApi"),
    ("can_get", "MenuApi"),
]


def _read(*views: str) -> list[tuple[str, str]]:
    return [(perm, view) for view in views for perm in READ]


def _menus(*names: str) -> list[tuple[str, str]]:
    return [("menu_access", name) for name in names]


_ORG_VIEWS = ("StationView", "TeamView", "GridView", "TransformerView", "StaffProfileView")
_CUSTOMER_VIEWS = ("CustomerView", "BillView")

ACCESS_MATRIX: dict[str, list[tuple[str, str]]] = {
    ADMIN: [("*", "*")],
    STATION_MANAGER: [
        *_SELF_SERVICE,
        *_read(*_ORG_VIEWS, *_CUSTOMER_VIEWS),
        *_read("WorkOrderView", "WorkOrderApi"),
        ("can_add", "WorkOrderView"),
        ("can_transition", "WorkOrderView"),
        ("can_bulk_dispatch", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive", "Bills",
                "Organisation", "Stations", "Teams", "Grids", "Transformers", "Staff"),
    ],
    TEAM_LEADER: [
        *_SELF_SERVICE,
        *_read(*_ORG_VIEWS, *_CUSTOMER_VIEWS),
        *_read("WorkOrderView", "WorkOrderApi"),
        ("can_add", "WorkOrderView"),
        ("can_transition", "WorkOrderView"),
        ("can_bulk_dispatch", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        ("can_view", "PersonalData"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive", "Bills",
                "Organisation", "Grids", "Transformers", "Staff"),
    ],
    DISTRICT_MANAGER: [
        *_SELF_SERVICE,
        *_read(*_CUSTOMER_VIEWS),
        *_read("WorkOrderView", "WorkOrderApi"),
        ("can_transition", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive", "Bills"),
    ],
    OPERATOR: [
        *_SELF_SERVICE,
        *_read("CustomerView", "WorkOrderView", "WorkOrderApi"),
        ("can_add", "WorkOrderView"),
        ("can_transition", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        ("can_view", "PersonalData"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive"),
    ],
    # External platforms authenticate with an API key on the intake API, not as users.
    CHANNEL_CLIENT: [],
}

# Policy announcements (jobs branch): every member of staff reads them, on screen and in the
# mobile app; station managers publish them.  Scheduling screens are for Admin only.
for _role in (STATION_MANAGER, TEAM_LEADER, DISTRICT_MANAGER, OPERATOR):
    ACCESS_MATRIX[_role] += [
        ("can_list", "MyAnnouncementsView"), ("can_show", "MyAnnouncementsView"),
        ("can_get", "AnnouncementApi"), ("can_post", "AnnouncementApi"),
        ("can_list", "MyNotificationsView"), ("can_read", "MyNotificationsView"),
        ("can_get", "NotificationApi"), ("can_post", "NotificationApi"),
        *_menus("Announcements", "Notifications"),
    ]
ACCESS_MATRIX[STATION_MANAGER] += [
    *[(perm, "AnnouncementView") for perm in
      ("can_list", "can_show", "can_add", "can_edit", "can_delete", "can_attach")],
    *_menus("Manage announcements"),
]

# Permissions that no view declares but the code checks explicitly.
EXTRA_PERMISSIONS = [("can_view", "PersonalData")]


def role_allows(role: str, permission: str, view: str) -> bool:
    return any(
        fnmatchcase(permission, p) and fnmatchcase(view, v) for p, v in ACCESS_MATRIX.get(role, [])
    )


def sync_roles(appbuilder) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Create every view's permissions, then make each role hold exactly its matrix."""
    sm = appbuilder.sm
    for role_name in [*ACCESS_MATRIX, "Public"]:
        sm.find_role(role_name) or sm.add_role(role_name)
    appbuilder.add_permissions(update_perms=True)
    for permission, view in EXTRA_PERMISSIONS:
        sm.add_permission_view_menu(permission, view)
    all_pvms = sm.session.query(sm.permissionview_model).all()
    counts: dict[str, int] = {}
    for role_name in ACCESS_MATRIX:
        role = sm.find_role(role_name) or sm.add_role(role_name)
        wanted = {
            pvm for pvm in all_pvms
            if pvm.permission and pvm.view_menu
            and role_allows(role_name, pvm.permission.name, pvm.view_menu.name)
        }
        current = set(role.permissions)
        role.permissions = [p for p in role.permissions if p in wanted] + [
            p for p in wanted if p not in current
        ]
        counts[role_name] = len(wanted)
    sm.find_role("Public") or sm.add_role("Public")
    sm.session.commit()
    return counts
