"""Flask-AppBuilder screens, one module per domain; ``register`` adds them in menu order."""

from __future__ import annotations

from typing import Any

from app.views import customer, dashboard, org, report, settings, workorder

DOMAINS = [workorder, customer, org, settings, dashboard, report]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
