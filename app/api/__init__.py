"""REST APIs: the mobile app's (JWT) and, later, the intake API of external channels."""

from __future__ import annotations

from typing import Any

from app.api import announcement, notification, workorder

DOMAINS = [workorder, announcement, notification]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
