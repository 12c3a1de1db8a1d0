"""Response bodies of the session API (``/api/v1/session``)."""

from __future__ import annotations

from app.api.schemas import MessageSchema

COMPONENTS = (MessageSchema,)
