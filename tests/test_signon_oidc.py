"""Sign-on through OpenID Connect (AUTH_METHOD=oidc, issue 19): the certified ``oidc-provider``
of the npm registry on Node.js (tests/oidc/provider.mjs, installed by ``make oidc-provider``:
``npm ci`` in tests/oidc) on a free port, with its own login and consent pages; GridCare as its
own server process configured by the environment; Chromium signs in through the provider.

The protocol tests do not depend on the database under GridCare: they run on the SQLite pass.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.signon_server import PASSWORD
from tests.signon_helpers import free_port, role_names, start_gridcare, wait_for

pytestmark = pytest.mark.databases("sqlite")

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CLIENT_ID, CLIENT_SECRET = "gridcare", "gridcare-client-secret"
OTHER_ID, OTHER_SECRET = "other-app", "other-app-secret"
ACCOUNTS = {
    "wangwu": {"preferred_username": "wangwu", "name": "王五", "given_name": "五", "family_name": "王",
               "email": "wangwu@station.example", "phone_number": "13900002001",
               "employee_number": "E1001", "roles": ["district-manager"]},
    "liuliu": {"preferred_username": "liuliu", "name": "刘六", "email": "liuliu@station.example",
               "roles": ["team-leader"]},
}


@pytest.fixture(scope="module")
def ports() -> dict[str, int]:
    return {"provider": free_port(), "gridcare": free_port()}


@pytest.fixture(scope="module")
def provider(ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=OIDC_DIR, check=True)
    gridcare = f"http://127.0.0.1:{ports['gridcare']}"
    clients = [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
         "redirect_uris": [f"{gridcare}/oauth-authorized/oidc", f"{gridcare}/m/oidc-callback"]},
        {"client_id": OTHER_ID, "client_secret": OTHER_SECRET, "redirect_uris": [f"{gridcare}/m/other-callback"]},
    ]
    issuer = f"http://127.0.0.1:{ports['provider']}"
    log = tmp_path_factory.mktemp("oidc-provider") / "provider.log"
    env = dict(os.environ, PORT=str(ports["provider"]), OIDC_CLIENTS=json.dumps(clients),
               OIDC_ACCOUNTS=json.dumps(ACCOUNTS))
    with open(log, "w") as out:
        process = subprocess.Popen(["node", "provider.mjs"], cwd=OIDC_DIR, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(f"{issuer}/.well-known/openid-configuration", process, log, seconds=60)
        yield issuer
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def gridcare(provider: str, ports: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    settings = {"AUTH_METHOD": "oidc", "OIDC_ISSUER": provider, "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": CLIENT_SECRET, "OIDC_ROLE_CLAIM": "roles", "AUTH_BREAK_GLASS_ADMIN": "admin",
                "OIDC_ROLE_MAP": json.dumps({"district-manager": "DistrictManager", "team-leader": "TeamLeader"})}
    yield from start_gridcare(tmp_path_factory.mktemp("gridcare-oidc"), ports["gridcare"], settings)


def sign_in_at_provider(page: Any, username: str) -> None:
    """The provider's own pages: its login form, then its consent ("authorize") prompt."""
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", "any-password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if page.locator("button[autofocus], button[type=submit]").count() and "/interaction/" in page.url:
        page.click("button[type=submit]")


def app_code_flow(page: Any, provider: str, client_id: str, secret: str, redirect_uri: str, username: str) -> dict[str, Any]:
    """What the mobile app does: authorization code + PKCE through the browser, then the code
    for tokens at the provider's token endpoint."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({"client_id": client_id, "response_type": "code", "scope": "openid profile email phone",
                                    "redirect_uri": redirect_uri, "state": secrets.token_urlsafe(8),
                                    "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
                                    "code_challenge_method": "S256"})
    page.goto(f"{provider}/auth?{query}")
    if "/interaction/" in page.url:
        if page.locator("input[name=login]").count():
            sign_in_at_provider(page, username)
        elif page.locator("button[type=submit]").count():
            page.click("button[type=submit]")
    page.wait_for_url(f"{redirect_uri}**")
    code = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["code"][0]
    tokens = requests.post(f"{provider}/token", auth=(client_id, secret), timeout=30, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def exchange(gridcare: dict[str, Any], id_token: str) -> requests.Response:
    return requests.post(f"{gridcare['base']}/api/v1/security/oidc/exchange", json={"id_token": id_token}, timeout=30)


def test_oidc_login_in_chromium_through_the_provider_lands_with_the_role_of_the_claim(gridcare, provider, page):
    base = gridcare["base"]
    page.goto(f"{base}/login/")
    page.click("text=统一身份认证登录：oidc")
    page.wait_for_url(f"{provider}/**")
    sign_in_at_provider(page, "wangwu")
    page.wait_for_url(f"{base}/workorderview/list/**")
    assert role_names(gridcare["database"], "wangwu") == ["DistrictManager"]
    from sqlalchemy import create_engine, text

    engine = create_engine(gridcare["database"])
    with engine.connect() as conn:
        number_g04, number_g01 = (conn.execute(text(
            "SELECT w.number FROM work_order w JOIN org_grid g ON g.id = w.grid_id WHERE g.code = :code"),
            {"code": code}).scalar_one() for code in ("ST001-G04", "ST001-G01"))
        linked = conn.execute(text("SELECT s.employee_no, s.mobile FROM org_staff s JOIN ab_user u "
                                   "ON u.id = s.user_id WHERE u.username = 'wangwu'")).one()
    engine.dispose()
    # A district manager starts on their own orders; all the orders they may see are listed here.
    page.goto(f"{base}/workorderview/list/")
    body = page.content()
    assert number_g04 in body and number_g01 not in body
    assert tuple(linked) == ("E1001", "13900002001")


def test_the_mobile_app_exchanges_the_providers_id_token_for_gridcares_jwt(gridcare, provider, page):
    tokens = app_code_flow(page, provider, CLIENT_ID, CLIENT_SECRET, f"{gridcare['base']}/m/oidc-callback", "liuliu")
    answer = exchange(gridcare, tokens["id_token"])
    assert answer.status_code == 200, answer.text
    orders = requests.get(f"{gridcare['base']}/api/v1/workorder/", timeout=30,
                          headers={"Authorization": f"Bearer {answer.json()['access_token']}"})
    assert orders.status_code == 200, orders.text
    assert role_names(gridcare["database"], "liuliu") == ["TeamLeader"]


def test_an_id_token_for_another_audience_is_refused(gridcare, provider, page):
    tokens = app_code_flow(page, provider, OTHER_ID, OTHER_SECRET, f"{gridcare['base']}/m/other-callback", "liuliu")
    answer = exchange(gridcare, tokens["id_token"])
    assert answer.status_code == 401
    assert "aud" in answer.json()["message"]


def test_an_id_token_signed_by_another_key_is_refused(gridcare, provider):
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    # the provider's own key id, a key of someone else's
    kid = requests.get(f"{provider}/jwks", timeout=30).json()["keys"][0]["kid"]
    now = int(time.time())
    forged = jwt.encode({"alg": "RS256", "kid": kid}, {
        "iss": provider, "aud": CLIENT_ID, "sub": "liuliu", "preferred_username": "liuliu",
        "roles": ["team-leader"], "iat": now, "exp": now + 300}, RSAKey.generate_key(2048))
    answer = exchange(gridcare, forged)
    assert answer.status_code == 401, answer.text
    assert answer.json()["message"].startswith("id_token: signature"), answer.text


def test_the_exchange_names_a_missing_id_token(gridcare):
    answer = requests.post(f"{gridcare['base']}/api/v1/security/oidc/exchange", json={}, timeout=30)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("id_token")


def test_break_glass_admin_signs_in_with_the_database_password_and_is_audited(gridcare):
    from sqlalchemy import create_engine, text

    base = gridcare["base"]
    browser = requests.Session()
    landed = []
    for username, password in (("leader1", PASSWORD), ("admin", "wrong-password"), ("admin", PASSWORD)):
        page = browser.get(f"{base}/break-glass/", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        landed.append(urllib.parse.urlparse(browser.post(f"{base}/break-glass/", timeout=30, data={
            "username": username, "password": password, "csrf_token": token}).url).path)
    assert landed == ["/break-glass/", "/break-glass/", "/workorderview/list/"]
    engine = create_engine(gridcare["database"])
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username FROM audit_log WHERE entity = 'BreakGlassLogin'")).scalars().all()
    engine.dispose()
    assert rows == ["admin"]
