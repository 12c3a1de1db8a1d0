"""REST APIs: the mobile app's (JWT) and the intake API of external channels (API keys)."""

from __future__ import annotations

from typing import Any

from app.api import (  # noqa: F401
    announcement,
    calendar,
    energy,
    intake,
    mobile,
    notification,
    onsite,
    points,
    session,
    workorder,
)

DOMAINS = [workorder, intake, onsite, energy, session, announcement, notification, calendar, points, mobile]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
