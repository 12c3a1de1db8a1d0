"""Flask-AppBuilder screens, one module per domain; ``register`` adds them in menu order."""

from __future__ import annotations

from typing import Any

from app.views import customer, energy, onsite, org, settings, workorder

DOMAINS = [workorder, customer, onsite, energy, org, settings]


def register(appbuilder: Any) -> None:
    for domain in DOMAINS:
        domain.register(appbuilder)
