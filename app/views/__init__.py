"""Flask-AppBuilder screens, one module per domain; ``register`` adds them in menu order."""

from __future__ import annotations

from typing import Any

from app.views import announcement, customer, jobs, org, settings, sync, workorder

DOMAINS = [workorder, customer, org, announcement, jobs, sync, settings]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
