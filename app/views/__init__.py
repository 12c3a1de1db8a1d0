"""Flask-AppBuilder screens, one module per domain; ``register`` adds them in menu order."""

from __future__ import annotations

from typing import Any

from app.views import (  # noqa: F401
    mobile,
    announcement,
    audit,
    calendar,
    channel,
    clocks,
    customer,
    dashboard,
    energy,
    gateway,
    jobs,
    notification,
    onsite,
    org,
    points,
    report,
    rules,
    settings,
    sync,
    workorder,
    workorder_records,
)

DOMAINS = [workorder, workorder_records, channel, customer, onsite, energy, dashboard, points, report, org, announcement, jobs, notification, sync, rules, settings, clocks, calendar, audit, gateway, mobile]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
