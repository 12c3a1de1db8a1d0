"""Shared column types and helpers for all domain models."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from flask_appbuilder import Model
from sqlalchemy import DateTime, TypeDecorator

from app import clock

__all__ = ["Model", "UTCDateTime", "utcnow", "LabeledEnum"]


def utcnow() -> dt.datetime:
    """The current moment from the one clock (``app.clock``); a column default."""
    return clock.now()


class UTCDateTime(TypeDecorator):
    """Timezone-aware datetimes stored as naive UTC on every backend.

    SQLite and MySQL drop the offset; storing UTC and re-attaching it on the way out keeps
    comparisons and arithmetic correct everywhere.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class LabeledEnum(str, enum.Enum):
    """A string enum whose members carry a translatable label."""

    def __new__(cls, value: str, label: str = "") -> "LabeledEnum":
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label or value  # type: ignore[attr-defined]
        return obj

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        from flask_babel import lazy_gettext

        return [(m.value, lazy_gettext(m.label)) for m in cls]  # type: ignore[attr-defined]

    @classmethod
    def label_of(cls, value: str | None) -> str:
        from flask_babel import gettext

        if value is None:
            return ""
        try:
            return gettext(cls(value).label)  # type: ignore[attr-defined]
        except ValueError:
            return value
