"""Single sign-on (issue 19): the LDAP directory and the OpenID Connect provider.

``AUTH_METHOD`` (config.py) picks Flask-AppBuilder's sign-on: ``db`` (database accounts, the
embedded demo), ``ldap`` (python-ldap: bind, search, bind as the user) or ``oidc`` (Authlib:
authorization code flow with PKCE).  What GridCare adds around it lives here:

- the directory's groups of a user (a search of LDAP_GROUP_BASE for groups naming the user
  as member, on top of a ``memberOf`` attribute where the directory has one);
- the profile of a directory user: name, mail and phone from the directory, and the link to
  the staff profile whose employee number the directory gives;
- the account lifecycle: a signed-in directory user (session or JWT) is looked up again at
  most every DIRECTORY_CHECK_SECONDS and refused once the directory no longer lists them; the
  ``directory_sync`` job deactivates the users whose entry is gone;
- the mobile app's OpenID Connect path: the provider's id token, checked against the
  provider's keys (JWKS), issuer and audience, exchanged for GridCare's JWT;
- the break-glass database administrator (AUTH_BREAK_GLASS_ADMIN), each sign-in audited.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

BREAK_GLASS_ENTITY = "BreakGlassLogin"

# user id -> monotonic time of the last check that found the user in the directory
_CHECKED: dict[int, float] = {}


class DirectoryUnavailable(Exception):
    """The directory could not be reached or answered with an error."""


def _text(attributes: dict[str, list[bytes]], name: str, default: str = "") -> str:
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            return values[0].decode("utf-8", "replace")
    return default


def connect(config: Any) -> Any:
    """A connection bound as LDAP_BIND_DN (the service account that searches)."""
    import ldap

    try:
        con = ldap.initialize(config["AUTH_LDAP_SERVER"])
        con.set_option(ldap.OPT_REFERRALS, 0)
        con.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
        if config.get("AUTH_LDAP_USE_TLS"):
            con.start_tls_s()
        con.simple_bind_s(config.get("AUTH_LDAP_BIND_USER", ""), config.get("AUTH_LDAP_BIND_PASSWORD", ""))
    except ldap.LDAPError as error:
        raise DirectoryUnavailable(str(error)) from error
    return con


def user_filter(config: Any, username: str | None = None) -> str:
    from ldap.filter import escape_filter_chars

    own = config.get("AUTH_LDAP_SEARCH_FILTER") or ""
    uid = config.get("AUTH_LDAP_UID_FIELD", "uid")
    wanted = f"({uid}={escape_filter_chars(username)})" if username is not None else f"({uid}=*)"
    return f"(&{own}{wanted})" if own else wanted


def find_entry(con: Any, config: Any, username: str) -> tuple[str, dict[str, list[bytes]]] | None:
    """The directory entry of ``username`` that LDAP_USER_FILTER admits (a disabled user is
    one the filter leaves out), or None."""
    import ldap

    try:
        found = con.search_s(config["AUTH_LDAP_SEARCH"], ldap.SCOPE_SUBTREE, user_filter(config, username))
    except ldap.NO_SUCH_OBJECT:
        return None
    except ldap.LDAPError as error:
        raise DirectoryUnavailable(str(error)) from error
    entries = [(dn, attrs) for dn, attrs in found if dn is not None and isinstance(attrs, dict)]
    return entries[0] if len(entries) == 1 else None


def group_base(config: Any) -> str:
    if config.get("LDAP_GROUP_BASE"):
        return config["LDAP_GROUP_BASE"]
    base = config.get("AUTH_LDAP_SEARCH", "")
    return base.split(",", 1)[1] if "," in base else base


def groups_of(con: Any, config: Any, user_dn: str) -> list[str]:
    """The DNs of the groups that name ``user_dn`` as member (groupOfNames / groupOfUniqueNames)."""
    import ldap
    from ldap.filter import escape_filter_chars

    dn = escape_filter_chars(user_dn)
    try:
        found = con.search_s(group_base(config), ldap.SCOPE_SUBTREE,
                             f"(|(member={dn})(uniqueMember={dn}))", ["1.1"])
    except ldap.LDAPError as error:
        log.warning("LDAP group search failed: %s", error)
        return []
    return [group_dn for group_dn, _ in found if group_dn]


def profile_fields(config: Any, attributes: dict[str, list[bytes]]) -> dict[str, str]:
    return {"phone": _text(attributes, config.get("LDAP_PHONE_FIELD", "telephoneNumber")),
            "employee_no": _text(attributes, config.get("LDAP_EMPLOYEE_NUMBER_FIELD", "employeeNumber")),
            "name": _text(attributes, "cn") or _text(attributes, "displayName")}


def link_profile(session: Session, user: Any, *, employee_no: str, phone: str = "", name: str = "") -> Any:
    """Link the directory user to the staff profile of their employee number (a profile that
    waits for its person, or already theirs) and copy the phone; returns the profile or None."""
    from app.models.org import StaffProfile

    if not employee_no:
        return None
    profile = session.scalar(select(StaffProfile).where(StaffProfile.employee_no == employee_no))
    if profile is None:
        log.info("directory user %s: no staff profile has employee number %s", user.username, employee_no)
        return None
    if profile.user_id not in (None, user.id):
        log.warning("staff profile %s (employee number %s) belongs to another user; %s not linked",
                    profile.id, employee_no, user.username)
        return None
    # a user has one profile: an older link of this user gives way to the directory's
    for other in session.scalars(select(StaffProfile).where(StaffProfile.user_id == user.id,
                                                            StaffProfile.id != profile.id)):
        other.user_id = None
    profile.user_id = user.id
    if phone:
        profile.mobile = phone[:32]
    if name and not profile.name:
        profile.name = name[:64]
    return profile


def is_break_glass(config: Any, username: str | None) -> bool:
    name = config.get("AUTH_BREAK_GLASS_ADMIN") or ""
    return bool(name) and username == name


def audit_break_glass(session: Session, user: Any, via: str) -> None:
    """Every sign-in of the break-glass administrator is one audit row."""
    from flask import has_request_context, request

    from app import clock
    from app.models.security import AuditEntry

    session.add(AuditEntry(at=clock.now(), user_id=user.id, username=user.username,
                           remote_addr=(request.remote_addr if has_request_context() else None),
                           operation="login", entity=BREAK_GLASS_ENTITY, entity_id=str(user.id),
                           changes={"via": via}))
    session.commit()
    log.warning("break-glass sign-in of %s (%s)", user.username, via)


def directory_lists(config: Any, user: Any) -> bool:
    """Is this signed-in user still admitted by the directory?  Looked up at most every
    DIRECTORY_CHECK_SECONDS per user and server process; users other than LDAP's and the break-glass
    administrator are not checked.  While the directory cannot be reached the user is let
    through (logged): an outage of the directory does not sign the station out."""
    if config.get("AUTH_METHOD") != "ldap" or is_break_glass(config, user.username):
        return True
    interval = float(config.get("DIRECTORY_CHECK_SECONDS", 300))
    now = time.monotonic()
    last = _CHECKED.get(user.id)
    if last is not None and now - last < interval:
        return True
    try:
        con = connect(config)
        try:
            entry = find_entry(con, config, user.username)
        finally:
            con.unbind_s()
    except DirectoryUnavailable as error:
        log.warning("directory check of %s skipped: %s", user.username, error)
        return True
    if entry is None:
        _CHECKED.pop(user.id, None)
        log.info("directory no longer lists %s: refused", user.username)
        return False
    _CHECKED[user.id] = now
    return True


def mark_checked(user_id: int) -> None:
    _CHECKED[user_id] = time.monotonic()


def deactivate_gone(session: Session, config: Any, now: dt.datetime) -> dict[str, int]:
    """Deactivate the active GridCare users whose directory entry is gone (or that
    LDAP_USER_FILTER no longer admits); the break-glass administrator is kept."""
    from flask_appbuilder.security.sqla.models import User

    if config.get("AUTH_METHOD") != "ldap":
        return {"checked": 0, "deactivated": 0}
    con = connect(config)
    checked = deactivated = 0
    try:
        for user in session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)):
            if is_break_glass(config, user.username):
                continue
            checked += 1
            if find_entry(con, config, user.username) is None:
                user.active = False
                user.changed_on = now.astimezone(dt.timezone.utc).replace(tzinfo=None) if now.tzinfo else now
                _CHECKED.pop(user.id, None)
                deactivated += 1
                log.info("directory entry of %s is gone: deactivated", user.username)
    finally:
        con.unbind_s()
    session.commit()
    return {"checked": checked, "deactivated": deactivated}


def directory_sync_job(session: Session, now: dt.datetime) -> dict[str, int]:
    """The scheduled job (``directory_sync``): ``deactivate_gone`` with the app's settings."""
    from flask import current_app

    return deactivate_gone(session, current_app.config, now)


# --- OpenID Connect ------------------------------------------------------------------------
def oidc_userinfo(config: Any, claims: dict[str, Any]) -> dict[str, Any]:
    """Flask-AppBuilder's userinfo of the provider's (validated) claims; role keys from
    OIDC_ROLE_CLAIM (a string or a list)."""
    roles = claims.get(config.get("OIDC_ROLE_CLAIM", "roles"), [])
    if isinstance(roles, str):
        roles = [roles]
    username = claims.get("preferred_username") or claims.get("email") or claims.get("sub")
    return {"username": username, "email": claims.get("email", ""),
            "first_name": claims.get("given_name", "") or claims.get("name", ""),
            "last_name": claims.get("family_name", ""),
            "phone": claims.get("phone_number", ""),
            "employee_no": str(claims.get(config.get("OIDC_EMPLOYEE_CLAIM", "employee_number"), "") or ""),
            "role_keys": [str(role) for role in roles]}


class InvalidIdToken(Exception):
    pass


_METADATA: dict[str, tuple[float, dict[str, Any], dict[str, Any]]] = {}


def _provider_keys(issuer: str, refresh: bool = False) -> dict[str, Any]:
    import requests

    hit = _METADATA.get(issuer)
    if hit and not refresh and time.monotonic() - hit[0] < 300:
        return hit[2]
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    jwks = requests.get(metadata["jwks_uri"], timeout=10).json()
    _METADATA[issuer] = (time.monotonic(), metadata, jwks)
    return jwks


def validate_id_token(config: Any, id_token: str) -> dict[str, Any]:
    """The claims of an id token of OIDC_ISSUER for OIDC_CLIENT_ID: signature by the
    provider's JWKS, issuer, audience and expiry checked (joserfc, Authlib's JOSE library)."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    issuer = config.get("OIDC_ISSUER", "")
    if not issuer:
        raise InvalidIdToken("OpenID Connect is not configured (OIDC_ISSUER)")
    registry = jwt.JWTClaimsRegistry(leeway=30, iss={"essential": True, "value": issuer},
                                     aud={"essential": True, "value": config.get("OIDC_CLIENT_ID", "")},
                                     exp={"essential": True}, sub={"essential": True})
    for refresh in (False, True):  # a key not known yet: the provider may have rotated its keys
        try:
            token = jwt.decode(id_token, KeySet.import_key_set(_provider_keys(issuer, refresh=refresh)),
                               algorithms=["RS256", "PS256", "ES256", "EdDSA"])
        except JoseError as error:
            if refresh:
                raise InvalidIdToken(f"signature: {error}") from error
            continue
        except ValueError as error:
            raise InvalidIdToken(f"malformed id token: {error}") from error
        try:
            registry.validate(token.claims)
        except JoseError as error:
            raise InvalidIdToken(str(error)) from error
        return dict(token.claims)
    raise InvalidIdToken("no key of the provider verifies the token")
