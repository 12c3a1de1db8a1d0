"""Business rules (business-rules package) in four domains — routing of new orders,
escalation of open ones, work-point scoring of evaluated ones, push targeting of customers —
stored as versioned JSON rule sets that administrators edit in the browser.

``init_app`` loads the four rule domains; ``app.register_workflow`` plugs the router for new
orders and the scoring hook into the workflow service.  Both do nothing until a rule set of
their domain is active.
"""

from __future__ import annotations

from typing import Any


def init_app(app: Any = None) -> None:
    from app.rules import escalation, routing, scoring, targeting  # noqa: F401  (registers domains)
