"""GridCare's security manager: Flask-AppBuilder's, plus the actor of the current user."""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, g, has_request_context, request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_jwt_extended import current_user as current_user_jwt
from flask_login import current_user

from app.security import views as _views
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


class GridCareSecurityApi(SecurityApi):
    """FAB's login API, answering a malformed login body with ``{"message": "<text>"}`` as
    its spec (and every other API) says, not with marshmallow's dict (found by fuzzing), and
    a body without ``provider`` with a 400 naming it (FAB's own answered 500)."""

    @expose("/login", methods=["POST"])
    @safe
    def login(self) -> Any:
        body = request.get_json(silent=True) if request.is_json else None
        if isinstance(body, dict) and "provider" not in body:
            return self.response_400(message="provider: Missing data for required field "
                                             "(\"db\" for database accounts, \"ldap\" for the directory).")
        return super().login()

    login.__doc__ = SecurityApi.login.__doc__

    def response_400(self, message: Any = None) -> Any:  # type: ignore[override]
        if message is not None and not isinstance(message, str):
            if isinstance(message, dict):
                message = "; ".join(f"{field}: {' '.join(map(str, errors)) if isinstance(errors, list) else errors}"
                                    for field, errors in message.items())
            else:
                message = str(message)
        return super().response_400(message=message)


# (kind, user id, …) -> (expires at, value); only with PERMISSION_CACHE_SECONDS > 0
_PER_USER: dict[tuple, tuple[float, Any]] = {}


def per_user(key: tuple, compute: Any) -> Any:
    """What a user's screens read on every request and what changes only when an
    administrator edits roles or the organisation — permissions, row scope, the menu, the
    filter drop-downs — kept in the process for PERMISSION_CACHE_SECONDS (production: such a
    change takes effect within that time on every server); 0 = computed at every request.
    ``key`` starts with what is cached and the user id."""
    ttl = float(current_app.config.get("PERMISSION_CACHE_SECONDS", 0) or 0)
    if ttl <= 0 or key[1] is None:
        return compute()
    now = time.monotonic()
    hit = _PER_USER.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    if len(_PER_USER) > 200_000:
        _PER_USER.clear()
    _PER_USER[key] = (now + ttl, value)
    return value


class GridCareSecurityManager(SecurityManager):
    security_api = GridCareSecurityApi
    # Users and roles in the station's words; no login statistics chart (English, and the
    # audit log says who signed in).  See app/security/views.py.
    userdbmodelview = _views.UserDBModelView
    rolemodelview = _views.RoleModelView
    groupmodelview = _views.UserGroupModelView
    userstatschartview = None

    def __init__(self, appbuilder: Any) -> None:
        super().__init__(appbuilder)
        from app.views.datamodel import EagerInterface

        # The lists name each user's and group's roles: loaded in one query, not one per row.
        self.userdbmodelview.datamodel = EagerInterface(self.user_model, ["roles", "groups"])
        self.groupmodelview.datamodel = EagerInterface(self.group_model, ["roles"])
    def _has_view_access(self, user: object, permission_name: str, view_name: str) -> bool:
        """Load the user's permissions once per request instead of one query per check
        (a screen checks twenty-odd menu items and buttons)."""
        if not has_request_context() or not getattr(user, "is_authenticated", False):
            return super()._has_view_access(user, permission_name, view_name)
        cached = g.get("_gridcare_permissions")
        if cached is None or cached[0] != getattr(user, "id", None):
            cached = (getattr(user, "id", None), self._permission_pairs(user))
            g._gridcare_permissions = cached
        return (permission_name, view_name) in cached[1]

    def _permission_pairs(self, user: Any) -> set:
        """The user's (permission, view) pairs (see ``per_user``)."""
        return per_user(("permissions", getattr(user, "id", None)), lambda: {
            pair for perms in self.get_user_roles_permissions(user).values() for pair in perms})

    def current_actor(self) -> Actor | None:
        """The actor (roles + row scope) of the signed-in user, computed once per request."""
        user = current_staff_user()
        if user is None:
            return None
        cached = g.get("_gridcare_actor")
        if cached is not None and cached.user_id == user.id:
            return cached
        actor = per_user(("actor", user.id), lambda: actor_for_user(
            self.session, user, sees_personal_data=self.has_access("can_view", "PersonalData")))
        g._gridcare_actor = actor
        return actor
