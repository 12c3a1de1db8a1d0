"""Query arguments, parsed one way by every screen and API: a missing one takes its default,
a malformed or out-of-range one is a 400 that names it (``BadArgument``) — never silently
ignored, never a 500 deeper down (an overflowing id, a Decimal beyond any column)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Iterable

from flask import request
from flask_babel import gettext as _

from app.workflow.errors import MAX_ID, InvalidInput


class BadArgument(InvalidInput):
    """A query argument the request cannot be answered with: a 400 naming it, on screens
    (the error page) as on APIs (``{"message", "field"}``), in the reader's language."""


def int_arg(name: str, default: int | None = None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number from ``low`` to ``high`` (by default: an id)."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
        raise BadArgument(_("%(name)s must be a whole number", name=name), field=name)
    value = int(text)
    if not low <= value <= high:
        raise BadArgument(_("%(name)s must be between %(low)s and %(high)s", name=name, low=low, high=high), field=name)
    return value


def decimal_arg(name: str, default: Decimal | None = None, *, low: Decimal | int | None = None,
                high: Decimal | int | None = None) -> Decimal | None:
    """A finite decimal number within [low, high] (each bound optional)."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, ValueError):
        raise BadArgument(_("%(name)s must be a number", name=name), field=name) from None
    if not value.is_finite():
        raise BadArgument(_("%(name)s must be a number", name=name), field=name)
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            message = _("%(name)s must be between %(low)s and %(high)s", name=name, low=low, high=high)
        elif low is not None:
            message = _("%(name)s must be at least %(low)s", name=name, low=low)
        else:
            message = _("%(name)s must be at most %(high)s", name=name, high=high)
        raise BadArgument(message, field=name)
    return value


def choice_arg(name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    """One of ``choices``; anything else is a 400 naming the argument."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip()
    allowed = list(choices)
    if value not in allowed:
        raise BadArgument(_("%(name)s must be one of %(allowed)s", name=name, allowed=", ".join(allowed)), field=name)
    return value


def month_arg(name: str) -> str | None:
    """A month ``YYYY-MM``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise BadArgument(_("%(name)s must be a month YYYY-MM", name=name), field=name)
    return value


# The work-order list's named filters: what the filter bar's 超期 / 即将超期 buttons and the
# dashboard's cards link to, instead of Flask-AppBuilder ``_flt_`` arguments holding a moment
# ("deadline before 2026-12-01T03:57:56+00:00" goes stale and reads badly as a chip).  Each
# name and its values are checked here; ``app/views/order_list.py`` turns them into SQL.
ANY_CLOCK = "1"
ORDER_LIST_FILTERS: dict[str, str] = {
    "overdue": "clock",  # 1 (any clock) or a clock kind: open orders past that deadline now
    "due_soon": "clock",  # the same, falling due soon
    "overdue_month": "month",  # YYYY-MM: deadline in that month, not resolved by it (the PDF's)
    "supervised_month": "month",  # YYYY-MM: under supervision (督办) during that month
}


def order_list_filters(clock_kinds: Iterable[str]) -> dict[str, str]:
    """The named filters of this request, each value checked: {name: value}."""
    kinds = [ANY_CLOCK, *clock_kinds]
    found: dict[str, str] = {}
    for name, kind in ORDER_LIST_FILTERS.items():
        value = choice_arg(name, kinds) if kind == "clock" else month_arg(name)
        if value is not None:
            found[name] = value
    return found
