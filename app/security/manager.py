"""GridCare's security manager: Flask-AppBuilder's, plus the actor of the current user."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from flask import abort, current_app, flash, g, has_request_context, redirect, request, url_for
from flask_appbuilder.api import expose, safe
from flask_appbuilder.const import LOGMSG_WAR_SEC_LOGIN_FAILED
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.views import AuthOAuthView
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.utils import is_null_password
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_jwt_extended import current_user as current_user_jwt
from flask_login import current_user, login_user

from app.security import passwords, signon
from app.security import views as _views
from app.workflow.actor import Actor, actor_for_user

log = logging.getLogger(__name__)


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
        config = current_app.config
        if (isinstance(body, dict) and body.get("provider") == "db" and config.get("AUTH_METHOD", "db") != "db"
                and signon.is_break_glass(config, body.get("username"))):
            # the break-glass administrator's database password while the directory signs on
            user = self.appbuilder.sm.auth_user_db(str(body["username"]), str(body.get("password", "")))
            return self._tokens(user, bool(body.get("refresh"))) if user else self.response_401()
        return super().login()

    def _tokens(self, user: Any, refresh: bool) -> Any:
        answer = {"access_token": create_access_token(identity=str(user.id), fresh=True)}
        if refresh:
            answer["refresh_token"] = create_refresh_token(identity=str(user.id))
        return self.response(200, **answer)

    login.__doc__ = SecurityApi.login.__doc__

    @expose("/oidc/exchange", methods=["POST"])
    @safe
    def oidc_exchange(self) -> Any:
        """The mobile app's OpenID Connect sign-in: the provider's id token for GridCare's JWT.
        ---
        post:
          description: >-
            After the app's own authorization code flow with the provider (AUTH_METHOD=oidc),
            it sends the id token; its signature (the provider's JWKS), issuer, audience
            (OIDC_CLIENT_ID) and expiry are checked, the user is created or updated with the
            roles of the role claim, and GridCare's access (and refresh) token is returned.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [id_token]
                  properties:
                    id_token: {type: string}
                    refresh: {type: boolean}
          responses:
            200:
              description: Signed in
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      access_token: {type: string}
                      refresh_token: {type: string}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        body = request.get_json(silent=True) if request.is_json else None
        if not isinstance(body, dict) or not isinstance(body.get("id_token"), str) or not body["id_token"]:
            return self.response_400(message="id_token: Missing data for required field.")
        if current_app.config.get("AUTH_METHOD") != "oidc":
            return self.response_400(message="id_token: OpenID Connect sign-on is not enabled (AUTH_METHOD).")
        try:
            claims = signon.validate_id_token(current_app.config, body["id_token"])
        except signon.InvalidIdToken as error:
            return self.response_401(message=f"id_token: {error}")
        user = self.appbuilder.sm.auth_user_oauth(signon.oidc_userinfo(current_app.config, claims))
        if not user:
            return self.response_401(message="id_token: this account may not sign in to GridCare")
        return self._tokens(user, bool(body.get("refresh")))

    def response_401(self, message: Any = None) -> Any:  # type: ignore[override]
        return self.response(401, message=message or "Not authorized")

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
    ``key`` starts with what is cached and whose it is (the user id, or a role's name)."""
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


class GridCareAuthOAuthView(AuthOAuthView):
    """The OpenID Connect sign-in page, plus ``/break-glass/``: the database password form of
    the break-glass administrator (AUTH_BREAK_GLASS_ADMIN; 404 when none is set)."""

    @expose("/break-glass/", methods=["GET", "POST"])
    def break_glass(self) -> Any:
        if not current_app.config.get("AUTH_BREAK_GLASS_ADMIN"):
            abort(404)
        form = LoginForm_db()
        if form.validate_on_submit():
            user = self.appbuilder.sm.auth_user_db(form.username.data, form.password.data)
            if not user:
                flash(str(self.invalid_login_message), "warning")
                return redirect(url_for(".break_glass"))
            login_user(user, remember=False)
            return redirect(self.appbuilder.get_url_for_index)
        return self.render_template("appbuilder/general/security/login_db.html", title=self.title,
                                    form=form, appbuilder=self.appbuilder)


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

    authoauthview = GridCareAuthOAuthView

    # --- sign-on: database, LDAP, OpenID Connect (app/security/signon.py) -------------------
    def auth_user_db(self, username: str, password: str) -> Any:
        """Database accounts; while AUTH_METHOD is ldap or oidc only the break-glass
        administrator (AUTH_BREAK_GLASS_ADMIN), and each of their sign-ins is audited."""
        config = current_app.config
        if config.get("AUTH_METHOD", "db") == "db":
            return self.check_db_password(username, password)
        if not signon.is_break_glass(config, username):
            return None
        user = self.check_db_password(username, password)
        if user is not None:
            signon.audit_break_glass(self.session, user, via=request.path if has_request_context() else "")
        return user

    def check_db_password(self, username: str, password: str) -> Any:
        """Flask-AppBuilder's database sign-in (``auth_user_db``: user by name or e-mail, active,
        an empty or NUL-only password refused, the same work for a wrong name as for a wrong
        password, failures logged, the sign-in counters), with the hashes of
        ``app/security/passwords.py``: a hash of an older method is replaced at sign-in."""
        config = current_app.config
        if not username:
            return None
        # An empty password and one of NUL bytes hash alike: never accepted, whatever is stored.
        if is_null_password(password):
            log.info(LOGMSG_WAR_SEC_LOGIN_FAILED, username)
            return None
        first = self.get_first_user()
        user = self.find_user(username=username)
        if user is None:
            user = self.find_user(email=username)
        else:
            self.find_user(email=username)  # balance failure and success, as FAB does
        if user is None or not user.is_active:
            passwords.balance_failure(config)
            log.info(LOGMSG_WAR_SEC_LOGIN_FAILED, username)
            if first:
                self.noop_user_update(first)
            return None
        if not passwords.verify_password(config, user.password, password):
            self.update_user_auth_stat(user, False)
            log.info(LOGMSG_WAR_SEC_LOGIN_FAILED, username)
            return None
        if passwords.needs_rehash(config, user.password):
            user.password = passwords.hash_password(config, password)
        self.update_user_auth_stat(user, True)  # commits the new hash with the counters
        return user

    def add_user(self, username: str, first_name: str, last_name: str, email: str, role: Any = None,
                 password: str = "", hashed_password: str = "", groups: Any = None, commit: bool = True) -> Any:
        """FAB's, with the password hashed here (a directory user gets a random secret)."""
        if not hashed_password:
            hashed_password = passwords.hash_password(current_app.config, password or secrets.token_urlsafe(32))
        return super().add_user(username, first_name, last_name, email, role, hashed_password=hashed_password,
                                groups=groups, commit=commit)

    def add_register_user(self, username: str, first_name: str, last_name: str, email: str,
                          password: str = "", hashed_password: str = "") -> Any:
        if not hashed_password:
            hashed_password = passwords.hash_password(current_app.config, password or secrets.token_urlsafe(32))
        return super().add_register_user(username, first_name, last_name, email, hashed_password=hashed_password)

    def reset_password(self, userid: Any, password: str) -> None:
        """An administrator's reset and a user's own change (FAB's forms call this)."""
        user = self.get_user_by_id(userid)
        user.password = passwords.hash_password(current_app.config, password)
        self.update_user(user)

    def auth_user_ldap(self, username: str, password: str) -> Any:
        config = current_app.config
        if signon.is_break_glass(config, username):
            return self.auth_user_db(username, password)
        if config.get("AUTH_METHOD") != "ldap":
            return None
        g.pop("_gridcare_directory", None)
        user = super().auth_user_ldap(username, password)
        return self._directory_user(user, g.pop("_gridcare_directory", None) or {})

    def _search_ldap(self, ldap: Any, con: Any, username: str) -> Any:
        """FAB's search, plus the phone and employee number of the entry and its groups (a
        search for groups naming the user as member, on top of any ``memberOf``)."""
        user_dn, attributes = super()._search_ldap(ldap, con, username)
        if user_dn is None:
            return None, None
        config = current_app.config
        fields = [config.get("LDAP_PHONE_FIELD", "telephoneNumber"),
                  config.get("LDAP_EMPLOYEE_NUMBER_FIELD", "employeeNumber"), "cn", "memberOf"]
        entry = con.search_s(user_dn, ldap.SCOPE_BASE, "(objectClass=*)", fields)
        attributes = dict(attributes or {})
        if entry:
            for key, values in entry[0][1].items():
                attributes.setdefault(key, values)
        groups = [value.decode() for value in attributes.get("memberOf", [])]
        groups += [dn for dn in signon.groups_of(con, config, user_dn) if dn not in groups]
        attributes[self.auth_ldap_group_field] = [dn.encode() for dn in groups]
        g._gridcare_directory = signon.profile_fields(config, attributes)
        return user_dn, attributes

    def _ldap_calculate_user_roles(self, user_attributes: Any) -> list:
        return self._without_public(super()._ldap_calculate_user_roles(user_attributes))

    def _oauth_calculate_user_roles(self, userinfo: Any) -> list:
        return self._without_public(super()._oauth_calculate_user_roles(userinfo))

    def _without_public(self, roles: list) -> list:
        """Only the roles the directory's groups / role claims map to (FAB would add the
        registration role, Public, to every directory user)."""
        public = current_app.config.get("AUTH_ROLE_PUBLIC", "Public")
        return [role for role in roles if role.name != public]

    def get_oauth_user_info(self, provider: str, resp: Any) -> dict[str, Any]:
        if provider == "oidc":
            # Authlib checked the id token (signature by the provider's keys, issuer,
            # audience, nonce) when it took the code; its claims are in "userinfo".
            return signon.oidc_userinfo(current_app.config, dict(resp.get("userinfo") or {}))
        return super().get_oauth_user_info(provider, resp)

    def auth_user_oauth(self, userinfo: dict[str, Any]) -> Any:
        if current_app.config.get("AUTH_METHOD") != "oidc":
            return None
        user = super().auth_user_oauth(userinfo)
        return self._directory_user(user, {"employee_no": userinfo.get("employee_no", ""),
                                           "phone": userinfo.get("phone", ""), "name": ""})

    def _directory_user(self, user: Any, profile: dict[str, str]) -> Any:
        """After the directory's sign-in: refuse a user none of whose groups / role claims
        maps to a GridCare role; link the staff profile of their employee number."""
        if user is None:
            return None
        if not self._without_public(list(user.roles)):
            self.session.commit()  # the roles just synchronised (none) are kept
            return None
        signon.link_profile(self.session, user, employee_no=profile.get("employee_no", ""),
                            phone=profile.get("phone", ""), name=profile.get("name", ""))
        self.session.commit()
        signon.mark_checked(user.id)
        return user

    def load_user(self, pk: Any) -> Any:
        """The user of a session or JWT, while the directory still lists them (checked every
        DIRECTORY_CHECK_SECONDS)."""
        user = super().load_user(pk)
        if user is not None and not signon.directory_lists(current_app.config, user):
            return None
        return user
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

    def is_item_public(self, permission_name: str, view_name: str) -> bool:
        """Flask-AppBuilder asks this first on every protected call (two queries: the Public
        role, then its permissions); the Public role's pairs are kept like a user's
        (``per_user``, keyed by the role's name)."""
        return (permission_name, view_name) in per_user(("public permissions", self.auth_role_public), lambda: {
            (pv.permission.name, pv.view_menu.name) for pv in self.get_public_permissions() or ()})

    def _permission_pairs(self, user: Any) -> set:
        """The user's (permission, view) pairs (see ``per_user``)."""
        return per_user(("permissions", getattr(user, "id", None)), lambda: {
            pair for perms in self.get_user_roles_permissions(user).values() for pair in perms})

    def on_user_login(self, user: Any) -> None:
        """Every successful sign-in (form, API, LDAP, OpenID Connect) is kept in the login
        history with its channel: the form is ``web``, the API ``api``, and the mobile app's API
        sign-in (header ``X-GridCare-Client: mobile``) ``mobile``."""
        from app.models.login import LoginChannel, LoginRecord

        super().on_user_login(user)
        channel = LoginChannel.WEB.value
        if has_request_context() and request.path.startswith("/api/"):
            client = request.headers.get("X-GridCare-Client", "").strip().lower()
            channel = LoginChannel.MOBILE.value if client == "mobile" else LoginChannel.API.value
        self.session.add(LoginRecord(user_id=user.id, channel=channel))
        self.session.commit()

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
