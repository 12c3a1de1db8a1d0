"""The access matrix, proved against declared data kept in the repository.

``tests/access/expected_permissions.csv`` lists every (role, permission, view) a role other
than Admin holds; ``tests/access/expected_api.csv`` says, for every operation of
``/api/v1/_openapi`` and every role (and anonymous callers), whether the call is let through.
Both files were written from the running app and then reviewed by hand against DESIGN.md's
roles.  Any grant the files do not declare — or a declared one that disappeared — fails.

To rewrite a file after a deliberate change: ``PROOF_WRITE_EXPECTED=1 pytest
tests/test_proof_access_matrix.py`` and review the diff line by line before committing it.
"""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

import pytest

from tests.conftest import api_token

HERE = Path(__file__).parent / "access"
PERMISSIONS_FILE = HERE / "expected_permissions.csv"
API_FILE = HERE / "expected_api.csv"
WRITE = os.environ.get("PROOF_WRITE_EXPECTED") == "1"

ROLES = ("StationManager", "TeamLeader", "DistrictManager", "Operator")
USERS = {"Admin": "admin", "StationManager": "director1", "TeamLeader": "leader1",
         "DistrictManager": "manager1", "Operator": "operator1", "anonymous": None}
# Values for path parameters: ids that do not exist (a permitted caller then gets 404, never a
# 2xx that would change data), a real channel code and a real work-order action.
PATH_VALUES = {"pk": "987654", "role_id": "987654", "attachment_id": "987654",
               "channel": "hotline_12345", "action": "accept", "version": "v1", "year": "2099"}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(sorted(rows))


def test_every_role_holds_exactly_the_declared_permissions(app):
    from app.extensions import appbuilder

    with app.app_context():
        real = {
            (role.name, pv.permission.name, pv.view_menu.name)
            for role in appbuilder.sm.get_all_roles() if role.name != "Admin"
            for pv in role.permissions
        }
    if WRITE:
        _write_csv(PERMISSIONS_FILE, ["role", "permission", "view"], list(real))
    expected = {(r["role"], r["permission"], r["view"]) for r in _read_csv(PERMISSIONS_FILE)}
    undeclared = sorted(real - expected)
    missing = sorted(expected - real)
    assert not undeclared, f"roles hold permissions the matrix does not declare: {undeclared}"
    assert not missing, f"declared permissions no role holds any more: {missing}"
    # Every role of DESIGN.md is in the file, Public holds nothing, ChannelClient nothing.
    assert {r for r, _, _ in expected} == set(ROLES)
    assert not any(r in ("Public", "ChannelClient") for r, _, _ in real)


def test_admin_holds_every_permission(app):
    from app.extensions import appbuilder

    with app.app_context():
        sm = appbuilder.sm
        admin = {p.id for p in sm.find_role("Admin").permissions}
        every = {p.id for p in sm.session.query(sm.permissionview_model).all()}
    assert admin == every


def test_personal_data_is_granted_only_to_leaders_and_operators(app):
    """DESIGN.md: full numbers only for the roles that hold the permission explicitly."""
    rows = _read_csv(PERMISSIONS_FILE)
    holders = {r["role"] for r in rows if (r["permission"], r["view"]) == ("can_view", "PersonalData")}
    assert holders == {"TeamLeader", "Operator"}
    # Nobody but Admin may touch users, roles, rules, API keys, callbacks, audit log or settings.
    admin_only = re.compile(r"^(User|Role|Permission|ViewMenu|RuleSet|StaffLeave|ChannelApiKey|Audit"
                            r"|Settings|Schedule|ReportSubscription|ChannelCallback|FailedDelivery"
                            r"|Callbacks|Set a callback|Failed deliveries)")
    leaked = [r for r in rows if admin_only.match(r["view"]) and r["view"] not in
              ("UserDBModelView", "UserInfoEditView") ]
    assert not leaked, leaked
    self_service = {r["permission"] for r in rows if r["view"] == "UserDBModelView"}
    assert self_service <= {"can_userinfo", "resetmypassword"}


def _operations(spec: dict) -> list[tuple[str, str]]:
    ops = [(method.upper(), path) for path, item in spec["paths"].items() for method in item
           if method in ("get", "post", "put", "delete", "patch")]
    # logging out revokes the caller's token: call it last.
    return sorted(ops, key=lambda op: (op[1] == "/api/v1/session/logout", op[1], op[0]))


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES[m.group(1)], path)


def test_every_rest_endpoint_answers_each_role_as_declared(app):
    client = app.test_client()
    admin_headers = {"Authorization": f"Bearer {api_token(client, 'admin')}"}
    spec = client.get("/api/v1/_openapi", headers=admin_headers).get_json()
    operations = _operations(spec)
    assert len(operations) >= 40
    observed: dict[tuple[str, str, str], str] = {}
    for role, username in USERS.items():
        headers = {"Authorization": f"Bearer {api_token(client, username)}"} if username else {}
        for method, path in operations:
            response = client.open(_concrete(path), method=method, headers=headers,
                                   json={} if method in ("POST", "PUT", "PATCH") else None)
            assert response.status_code < 500, (role, method, path, response.status_code)
            observed[(role, method, path)] = "no" if response.status_code in (401, 403) else "yes"
    if WRITE:
        _write_csv(API_FILE, ["role", "method", "path", "allowed"],
                   [(*key, value) for key, value in observed.items()])
    expected = {(r["role"], r["method"], r["path"]): r["allowed"] for r in _read_csv(API_FILE)}
    assert set(expected) == set(observed), (
        f"undeclared: {sorted(set(observed) - set(expected))}; "
        f"gone: {sorted(set(expected) - set(observed))}")
    wrong = sorted((key, expected[key], observed[key]) for key in observed
                   if expected[key] != observed[key])
    assert not wrong, f"(role, method, path), declared, observed: {wrong}"


@pytest.mark.parametrize("path", ["/api/v1/workorder/", "/api/v1/onsite/anomalies",
                                  "/api/v1/energy/customers", "/api/v1/notification/"])
def test_anonymous_callers_get_401_json_on_staff_apis(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.is_json
