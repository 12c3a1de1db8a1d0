"""Flask-AppBuilder screens, one module per domain; ``register`` adds them in menu order."""

from __future__ import annotations

from typing import Any

from app.views import audit, channel, customer, org, settings, workorder

DOMAINS = [workorder, channel, customer, org, settings, audit]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
