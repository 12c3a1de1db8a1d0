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
    ("can_get", "CalendarApi"),  # the statutory calendar (PUT is for Admin only)
]


def _read(*views: str) -> list[tuple[str, str]]:
    return [(perm, view) for view in views for perm in READ]


def _menus(*names: str) -> list[tuple[str, str]]:
    return [("menu_access", name) for name in names]


# Indicators and reports: leaders see the dashboard, the archive and the on-demand report of
# their own scope; district managers their own dashboard; subscriptions are for Admin only.
_REPORTS_LEADER: list[tuple[str, str]] = [
    ("can_show", "DashboardView"),
    ("can_evaluation", "EvaluationReportView"),
    ("can_list", "ReportArchiveView"),
    ("can_show", "ReportArchiveView"),
    ("can_download", "ReportArchiveView"),
    ("menu_access", "Indicators"),
    ("menu_access", "Dashboard"),
    ("menu_access", "Report archive"),
]
_REPORTS_DISTRICT: list[tuple[str, str]] = [
    ("can_show", "DashboardView"),
    ("menu_access", "Indicators"),
    ("menu_access", "Dashboard"),
]

# Records around work orders (timeline, suspensions, extensions, return visits): read-only.
_ORDER_RECORDS = ("WorkOrderEventView", "SuspensionView", "ExtensionRequestView", "ReturnVisitView")
_ORDER_RECORD_MENUS = ("Timeline events", "Suspensions", "Extension requests", "Return visits")

_ORG_VIEWS = ("StationView", "TeamView", "GridView", "TransformerView", "StaffProfileView")
_CUSTOMER_VIEWS = ("CustomerView", "BillView")

# The rule editor, its dry runs and the leave roster (RuleSetView: can_list, can_edit,
# can_dry_run; StaffLeaveView; menus "Rules", "Rule sets", "Dry run", "Leave roster") are for
# administrators only: Admin holds them through "*", no other role is given them.
RULES_VIEWS = ("RuleSetView", "StaffLeaveView")
# Channel callbacks (URL and signing secret of each platform) and the failed deliveries with
# their retry (app/views/channel_callback.py; menus "Callbacks", "Set a callback", "Failed
# deliveries") are for administrators only, like the API keys: no other role is given them.
CALLBACK_VIEWS = ("ChannelCallbackView", "FailedDeliveryView")
# Channels (app/views/channel*.py): one order list per channel, duplicates, branch channels, tasks.
_CHANNEL_ORDER_VIEWS = (
    "CityCallOrderView", "Hotline12345OrderView", "ThreeServicesOrderView",
    "GrassrootsGridOrderView", "ConveniencePointOrderView", "LoveSupermarketOrderView",
    "OnlineNonfaultOrderView", "OaDemandOrderView", "OnsiteOrderView", "TaskOrderView",
    "PhoneOrderView", "CounterOrderView",  # the station's own desks (issue 16)
)
_CHANNEL_MENUS = (
    "Channels",
    *(f"Channel orders: {code}" for code in (
        "city_call", "hotline_12345", "three_services", "grassroots_grid", "convenience_point",
        "love_supermarket", "online_nonfault", "oa_demand", "onsite", "task", "phone", "counter")),
)
_CHANNEL_READ = [("can_list", v) for v in _CHANNEL_ORDER_VIEWS] + [
    ("can_show", v) for v in _CHANNEL_ORDER_VIEWS] + [
    ("can_overview", "ChannelOverviewView"), ("menu_access", "Orders by channel")]
_CHANNEL_LEADER = [
    *_CHANNEL_READ,
    *_read("DuplicateReviewView"), ("merge", "DuplicateReviewView"), ("keep", "DuplicateReviewView"),
    *_read("ServicePointView"), ("can_add", "ServicePointView"), ("can_edit", "ServicePointView"),
    *_read("DutyShiftView"), ("can_add", "DutyShiftView"), ("can_edit", "DutyShiftView"),
    ("can_delete", "DutyShiftView"),
    *_read("LoveSupermarketView"), ("can_add", "LoveSupermarketView"),
    ("can_edit", "LoveSupermarketView"), ("can_map", "LoveSupermarketView"),
    *_read("CommunityResidentView"), ("can_add", "CommunityResidentView"),
    ("can_points", "CommunityResidentView"),
    ("can_register_supermarket", "BranchRegistrationView"),
    *_read("TaskTemplateView"), ("can_add", "TaskTemplateView"), ("can_edit", "TaskTemplateView"),
    *_menus(*_CHANNEL_MENUS, "Possible duplicates", "Convenience service points", "Duty roster",
            "Love supermarkets", "Love supermarket map", "Community points",
            "Register at a love supermarket", "Tasks"),
]
# On-site work and energy services (issue 4).
_ONSITE_RECORD_VIEWS = ("ServiceRecordView", "SafetyRecordView", "EquipmentRecordView")
_ONSITE_MENUS = ("Field work", "Customer visits", "Visit records", "On-site service records",
                 "Safety supervision", "Equipment collection", "Box-meter anomalies", "Mobile app")
_ENERGY_MENUS = ("Energy services", "Peak/valley analysis", "Customer lists", "Available capacity")
_FIELD_WORK: list[tuple[str, str]] = [
    ("can_list", "CustomerServiceView"), ("can_show", "CustomerServiceView"), ("can_add", "CustomerServiceView"),
    *_read("VisitView", *_ONSITE_RECORD_VIEWS, "MeterBoxAnomalyView"),
    *[("can_add", view) for view in (*_ONSITE_RECORD_VIEWS, "MeterBoxAnomalyView")],
    ("can_close", "SafetyRecordView"),
    ("can_get", "OnsiteApi"), ("can_post", "OnsiteApi"),
    ("can_get", "MobileApi"), ("can_post", "MobileApi"),
    ("can_list", "EnergyServicesView"), ("can_show", "EnergyServicesView"),
    ("can_export", "EnergyServicesView"), ("can_add", "EnergyServicesView"),
    ("can_get", "EnergyApi"), ("can_post", "EnergyApi"),
]

ACCESS_MATRIX: dict[str, list[tuple[str, str]]] = {
    ADMIN: [("*", "*")],
    STATION_MANAGER: [
        *_SELF_SERVICE,
        *[(p, v) for v in _ORDER_RECORDS for p in ("can_list", "can_show")],
        *_menus(*_ORDER_RECORD_MENUS),
        *_read(*_ORG_VIEWS, *_CUSTOMER_VIEWS),
        *_read("WorkOrderView", "WorkOrderApi"),
        ("can_add", "WorkOrderView"),
        ("can_transition", "WorkOrderView"),
        ("can_bulk_dispatch", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive", "Bills",
                "Organisation", "Stations", "Teams", "Grids", "Transformers", "Staff"),
        *_CHANNEL_LEADER,
        *_FIELD_WORK,
        ("can_rectify", "MeterBoxAnomalyView"), ("can_verify", "MeterBoxAnomalyView"), ("can_verify", "OnsiteApi"),
        ("can_list", "PushCampaignView"), ("can_show", "PushCampaignView"), ("can_add", "PushCampaignView"),
        ("can_run", "PushCampaignView"),
        *_read("PushMessageView"),
        *[(perm, "StationTariffView")
          for perm in ("can_list", "can_show", "can_add", "can_edit", "can_delete")],
        # Measured demand is evidence for the capacity figures: corrected, never deleted
        # (access review, issue 6).
        *[(perm, "DemandReadingView") for perm in ("can_list", "can_show", "can_add", "can_edit")],
        *_menus(*_ONSITE_MENUS, *_ENERGY_MENUS, "Push campaigns", "Pushes", "Tariff table", "Demand readings"),
        *_REPORTS_LEADER,
    ],
    TEAM_LEADER: [
        *_SELF_SERVICE,
        *[(p, v) for v in _ORDER_RECORDS for p in ("can_list", "can_show")],
        *_menus(*_ORDER_RECORD_MENUS),
        *_read(*_ORG_VIEWS, *_CUSTOMER_VIEWS),
        *_read("WorkOrderView", "WorkOrderApi"),
        ("can_add", "WorkOrderView"),
        ("can_transition", "WorkOrderView"),
        ("can_bulk_dispatch", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        ("can_view", "PersonalData"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive", "Bills",
                "Organisation", "Grids", "Transformers", "Staff"),
        *_CHANNEL_LEADER,
        *_FIELD_WORK,
        ("can_rectify", "MeterBoxAnomalyView"), ("can_verify", "MeterBoxAnomalyView"), ("can_verify", "OnsiteApi"),
        *_read("PushMessageView", "StationTariffView"),
        *[(perm, "DemandReadingView") for perm in ("can_list", "can_show", "can_add", "can_edit")],
        *_menus(*_ONSITE_MENUS, *_ENERGY_MENUS, "Pushes", "Tariff table", "Demand readings"),
        *_REPORTS_LEADER,
    ],
    DISTRICT_MANAGER: [
        *_SELF_SERVICE,
        *[(p, v) for v in _ORDER_RECORDS for p in ("can_list", "can_show")],
        *_menus(*_ORDER_RECORD_MENUS),
        *_read(*_CUSTOMER_VIEWS),
        *_read("WorkOrderView", "WorkOrderApi"),
        ("can_transition", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive", "Bills"),
        # channels: registers city calls; sees the supermarkets of own grids
        *_CHANNEL_READ,
        ("can_register", "CityCallView"),
        *_read("LoveSupermarketView"), ("can_map", "LoveSupermarketView"),
        *_read("CommunityResidentView"), ("can_points", "CommunityResidentView"),
        *_menus(*_CHANNEL_MENUS, "Register a city call", "Love supermarkets",
                "Love supermarket map", "Community points"),
        *_FIELD_WORK,
        ("can_rectify", "MeterBoxAnomalyView"),
        *_menus(*_ONSITE_MENUS, *_ENERGY_MENUS),
        *_REPORTS_DISTRICT,
    ],
    OPERATOR: [
        *_SELF_SERVICE,
        *[(p, v) for v in _ORDER_RECORDS for p in ("can_list", "can_show")],
        *_menus(*_ORDER_RECORD_MENUS),
        *_read("CustomerView", "WorkOrderView", "WorkOrderApi"),
        ("can_add", "WorkOrderView"),
        ("can_transition", "WorkOrderView"),
        ("can_post", "WorkOrderApi"),
        ("can_view", "PersonalData"),
        *_menus("Work orders", "All work orders", "Customers", "Customer archive"),
        # channels: registers walk-ins at the points where on duty, and at supermarkets
        *_CHANNEL_READ,
        ("can_register_point", "BranchRegistrationView"),
        ("can_register_supermarket", "BranchRegistrationView"),
        *_read("ServicePointView", "DutyShiftView", "LoveSupermarketView"),
        ("can_map", "LoveSupermarketView"),
        *_read("CommunityResidentView"), ("can_add", "CommunityResidentView"),
        ("can_points", "CommunityResidentView"),
        *_menus(*_CHANNEL_MENUS, "Register at a service point", "Register at a love supermarket",
                "Convenience service points", "Duty roster", "Love supermarkets",
                "Love supermarket map", "Community points"),
        ("can_list", "CustomerServiceView"), ("can_show", "CustomerServiceView"),
        ("can_list", "EnergyServicesView"), ("can_show", "EnergyServicesView"), ("can_add", "EnergyServicesView"),
        ("can_get", "OnsiteApi"), ("can_get", "EnergyApi"), ("can_post", "EnergyApi"),
        *_menus("Field work", "Customer visits", "Energy services", "Peak/valley analysis"),
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
        ("can_edit", "NotificationSettingsView"),
        *_menus("Announcements", "Notifications", "Notification settings"),
    ]
# The work-point ledger (issue 15): leaders and district managers read it in their scope
# (a district manager their own entries), on screen and through the API.
for _role in (STATION_MANAGER, TEAM_LEADER, DISTRICT_MANAGER):
    ACCESS_MATRIX[_role] += [
        ("can_list", "WorkPointView"), ("can_get", "WorkPointApi"),
        *_menus("Work-point ledger"),
    ]
# The outbox of mails and SMS to staff (NotificationDeliveryView: list, show, retry; menu
# "Message deliveries") is for administrators only: Admin holds it through "*".
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
    # Flask-AppBuilder commits once per permission and appends each to the Admin role: with
    # objects expired at every commit it reloads the role's whole list each time (minutes on
    # a fresh database).  Nothing else writes these rows meanwhile, so keep them loaded.
    session = sm.session()  # the scoped session's current Session
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        appbuilder.add_permissions(update_perms=True)
    finally:
        session.expire_on_commit = expire_on_commit
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
