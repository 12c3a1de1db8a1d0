"""GridCare's security manager: Flask-AppBuilder's, plus the actor of the current user."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_jwt_extended import current_user as current_user_jwt
from flask_login import current_user

from app.workflow.actor import Actor, actor_for_user


def current_staff_user() -> Any | None:
    """The signed-in user, by session cookie or by bearer token."""
    if current_user and current_user.is_authenticated:
        return current_user
    try:
        if current_user_jwt and current_user_jwt.is_active:
            return current_user_jwt
    except Exception:  # no JWT in this request
        return None
    return None


class GridCareSecurityManager(SecurityManager):
    def current_actor(self) -> Actor | None:
        """The actor (roles + row scope) of the signed-in user, computed once per request."""
        user = current_staff_user()
        if user is None:
            return None
        cached = g.get("_gridcare_actor")
        if cached is not None and cached.user_id == user.id:
            return cached
        sees = self.has_access("can_view", "PersonalData")
        actor = actor_for_user(self.session, user, sees_personal_data=sees)
        g._gridcare_actor = actor
        return actor
