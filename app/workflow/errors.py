"""Domain errors raised by the services; each edge maps them to a 4xx answer."""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status = 400


class Forbidden(DomainError):
    status = 403


class OutOfScope(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class IllegalTransition(DomainError):
    status = 409


class StaleVersion(DomainError):
    status = 409


class NeedsConfirmation(DomainError):
    """Allowed only when the caller confirms (e.g. dispatching to someone on leave): the
    same request again with the named field set to true goes through."""

    status = 409


MAX_ID = 2**31 - 1


def checked_id(value: object, field: str) -> int:
    """An id from outside (JSON, form, query): an integer within any id column's range, or
    ``InvalidInput`` — never an overflow in the database driver (found by fuzzing, issue 6)."""
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"{field} must be an integer", field=field) from None
    if not 0 < number <= MAX_ID:
        raise InvalidInput(f"{field} is out of range", field=field)
    return number
