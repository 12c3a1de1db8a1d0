"""Query arguments, parsed one way by every screen and API: a missing one takes its default,
a malformed or out-of-range one is a 400 that names it (``BadArgument``) — never silently
ignored, never a 500 deeper down (an overflowing id, a Decimal beyond any column)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import request

from app.workflow.errors import MAX_ID, InvalidInput


class BadArgument(InvalidInput):
    """A query argument the request cannot be answered with: a 400 naming it, on screens
    (the error page) as on APIs (``{"message", "field"}``)."""


def int_arg(name: str, default: int | None = None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """A whole number from ``low`` to ``high`` (by default: an id)."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
        raise BadArgument(f"{name} must be a whole number", field=name)
    value = int(text)
    if not low <= value <= high:
        raise BadArgument(f"{name} must be between {low} and {high}", field=name)
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
        raise BadArgument(f"{name} must be a number", field=name) from None
    if not value.is_finite():
        raise BadArgument(f"{name} must be a number", field=name)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"between {low} and {high}" if low is not None and high is not None else (
            f"at least {low}" if low is not None else f"at most {high}")
        raise BadArgument(f"{name} must be {bounds}", field=name)
    return value
