"""Masking of personal data for roles without the PersonalData permission.

Phones keep the first three and last four digits (138****5678), landlines the last four,
ID numbers the first three and last four; every other character becomes ``*``.
"""

from __future__ import annotations


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    digits = value.strip()
    if len(digits) == 11 and digits.isdigit():
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return value
    text = value.strip()
    if len(text) <= 7:
        return "*" * len(text)
    return text[:3] + "*" * (len(text) - 7) + text[-4:]


def mask_address(value: str | None) -> str | None:
    """Keep the first eight characters (district, street), hide the house number."""
    if not value:
        return value
    keep = min(8, max(0, len(value) - 4))
    return value[:keep] + "*" * (len(value) - keep)


MASKERS = {"phone": mask_phone, "id_number": mask_id_number, "address": mask_address}
PERSONAL_FIELDS = ("phone", "id_number")


def masked(field: str, value: str | None, sees_personal_data: bool) -> str | None:
    if sees_personal_data or field not in MASKERS:
        if sees_personal_data and value and field in PERSONAL_FIELDS:
            _note_revealed(field)
        return value
    return MASKERS[field](value)


def _note_revealed(field: str) -> None:
    """Count the full numbers a request shows: ``app.audit`` logs them after the response
    ("access to a full number by a permitted role is itself logged")."""
    from flask import g, has_request_context

    if has_request_context():
        revealed = g.setdefault("personal_data_revealed", {})
        revealed[field] = revealed.get(field, 0) + 1


def refuse_personal_filters(actor: object, args: object, supported: tuple[str, ...] = ()) -> None:
    """A filter on a field the caller may only see masked is refused (403), never silently
    applied or silently ignored; one the endpoint does not offer is a 400 (issue 6)."""
    from app.workflow.errors import Forbidden, InvalidInput

    for field in PERSONAL_FIELDS:
        if args.get(field) not in (None, ""):  # type: ignore[attr-defined]
            if not getattr(actor, "sees_personal_data", False):
                raise Forbidden(f"you may not search by {field}")
            if field not in supported:
                raise InvalidInput(f"{field} is not a filter of this list", field=field)
