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
