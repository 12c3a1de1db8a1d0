"""AUTH_METHOD=db (the default, the embedded demo): sign-on behaves as before issue 19 — the
demo accounts of CONTRACT.md sign in by the form and the login API; the directory's and the
OpenID provider's ways in are closed."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, browser_login

DEMO_ACCOUNTS = ("admin", "director1", "leader1", "manager1", "manager2", "operator1")
# Each role's start page: the director's dashboard, everyone else's order list (a district
# manager's filtered to their own orders).
START_PAGE = {"director1": "/dashboard/"}


def test_db_is_the_default_sign_on(app):
    import config

    assert config.Config.AUTH_METHOD == "db" and app.config["AUTH_TYPE"] == 1
    assert app.config["AUTH_USER_REGISTRATION"] is False


@pytest.mark.parametrize("username", DEMO_ACCOUNTS)
def test_demo_accounts_sign_in_by_form_and_api(app, username):
    client = app.test_client()
    landed = browser_login(client, username)
    page = client.get(landed.headers["Location"], follow_redirects=True)
    assert page.status_code == 200 and page.request.path == START_PAGE.get(username, "/workorderview/list/")
    answer = app.test_client().post("/api/v1/security/login",
                                    json={"username": username, "password": PASSWORD, "provider": "db"})
    assert answer.status_code == 200 and answer.get_json()["access_token"]


def test_ldap_provider_and_oidc_exchange_are_closed(app):
    client = app.test_client()
    ldap = client.post("/api/v1/security/login",
                       json={"username": "manager1", "password": PASSWORD, "provider": "ldap"})
    assert ldap.status_code == 400 and "not allowed" in ldap.get_json()["message"]
    exchange = client.post("/api/v1/security/oidc/exchange", json={"id_token": "x.y.z"})
    assert exchange.status_code == 400
    assert exchange.get_json()["message"] == "id_token: OpenID Connect sign-on is not enabled (AUTH_METHOD)."


def test_wrong_password_is_refused(app):
    answer = app.test_client().post("/api/v1/security/login",
                                    json={"username": "manager1", "password": "wrong", "provider": "db"})
    assert answer.status_code == 401


def test_malformed_sign_on_settings_are_named(monkeypatch):
    import config

    monkeypatch.setenv("LDAP_GROUP_ROLE_MAP", "{not json")
    with pytest.raises(ValueError, match="LDAP_GROUP_ROLE_MAP is not valid JSON"):
        config._json_map("LDAP_GROUP_ROLE_MAP")
    monkeypatch.setenv("AUTH_METHOD", "kerberos")
    with pytest.raises(ValueError, match="AUTH_METHOD must be one of db, ldap, oidc"):
        config._auth_method()
