"""Flask-AppBuilder screens, one module per domain; ``register`` adds them in menu order."""

from __future__ import annotations

from typing import Any

from app.views import audit, customer, org, rules, settings, workorder

DOMAINS = [workorder, customer, org, rules, settings, audit]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
