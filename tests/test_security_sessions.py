"""Signing out of the API ends the whole sign-in (issue 14): the refresh token of that
sign-in, and the access tokens it minted, get 401 after logout."""

from __future__ import annotations

from tests.conftest import PASSWORD


def _sign_in(client, username="manager1"):
    answer = client.post("/api/v1/security/login", json={"username": username, "password": PASSWORD,
                                                          "provider": "db", "refresh": True})
    assert answer.status_code == 200
    return answer.get_json()["access_token"], answer.get_json()["refresh_token"]


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_after_logout_the_refresh_token_gets_401(client):
    access, refresh = _sign_in(client)
    assert client.post("/api/v1/security/refresh", headers=_bearer(refresh)).status_code == 200
    assert client.post("/api/v1/session/logout", headers=_bearer(access)).status_code == 200
    refused = client.post("/api/v1/security/refresh", headers=_bearer(refresh))
    assert refused.status_code == 401 and "revoked" in refused.get_json()["message"]


def test_after_logout_access_tokens_minted_by_the_refresh_token_get_401(client):
    access, refresh = _sign_in(client)
    minted = client.post("/api/v1/security/refresh", headers=_bearer(refresh)).get_json()["access_token"]
    assert client.get("/api/v1/workorder/", headers=_bearer(minted)).status_code == 200
    assert client.post("/api/v1/session/logout", headers=_bearer(access)).status_code == 200
    assert client.get("/api/v1/workorder/", headers=_bearer(minted)).status_code == 401
    assert client.get("/api/v1/workorder/", headers=_bearer(access)).status_code == 401


def test_logout_leaves_the_users_other_sign_ins_working(client):
    first_access, _first_refresh = _sign_in(client)
    other_access, other_refresh = _sign_in(client)
    assert client.post("/api/v1/session/logout", headers=_bearer(first_access)).status_code == 200
    assert client.get("/api/v1/workorder/", headers=_bearer(other_access)).status_code == 200
    assert client.post("/api/v1/security/refresh", headers=_bearer(other_refresh)).status_code == 200
