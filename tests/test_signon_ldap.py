"""Sign-on through the LDAP directory (AUTH_METHOD=ldap, issue 19): a real OpenLDAP slapd
(Debian's package, started by python-ldap's slapdtest in a temporary folder on a free port,
seeded with people and groups) and GridCare as its own server process configured by the
environment, as an operator would configure it.

The protocol tests do not depend on the database under GridCare: they run on the SQLite pass.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Iterator

import ldap
import pytest
import requests
import slapdtest

from tests.signon_helpers import form_sign_in, free_port, role_names, start_gridcare
from tests.signon_server import PASSWORD as DEMO_PASSWORD

pytestmark = pytest.mark.databases("sqlite")

SUFFIX = "dc=gridcare,dc=test"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
DISTRICT_MANAGERS = f"cn=district-managers,{GROUPS}"
TEAM_LEADERS = f"cn=team-leaders,{GROUPS}"
SERVICE_DN = f"cn=gridcare,{SUFFIX}"
CHECK_SECONDS = 2


class Directory(slapdtest.SlapdObject):
    suffix = SUFFIX
    root_cn = "admin"
    openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif")


def person(uid: str, name: str, employee_no: str, phone: str, state: str = "active") -> str:
    return "\n".join([
        f"dn: uid={uid},{PEOPLE}", "objectClass: inetOrgPerson", f"uid: {uid}", f"cn: {name}",
        f"sn: {name[:1]}", f"givenName: {name[1:]}", f"mail: {uid}@station.example",
        f"telephoneNumber: {phone}", f"employeeNumber: {employee_no}", f"employeeType: {state}",
        "userPassword: Directory#2026", ""])


def group(cn: str, *members: str) -> str:
    return "\n".join([f"dn: cn={cn},{GROUPS}", "objectClass: groupOfNames", f"cn: {cn}",
                      *[f"member: uid={m},{PEOPLE}" for m in members],
                      f"member: {SERVICE_DN}", ""])


@pytest.fixture(scope="module")
def directory() -> Iterator[Directory]:
    server = Directory()
    server.start()
    server.ldapadd("\n".join([
        f"dn: {SUFFIX}", "objectClass: dcObject", "objectClass: organization", "dc: gridcare",
        "o: GridCare test station", "",
        f"dn: {SERVICE_DN}", "objectClass: person", "cn: gridcare", "sn: service",
        "userPassword: Service#2026", "",
        f"dn: {PEOPLE}", "objectClass: organizationalUnit", "ou: people", "",
        f"dn: {GROUPS}", "objectClass: organizationalUnit", "ou: groups", "",
        person("zhaoxin", "赵新", "E1001", "13900001001"),
        person("qianli", "钱立", "E1002", "13900001002"),
        person("sunqi", "孙琦", "E1003", "13900001003"),
        person("zhouba", "周八", "E1004", "13900001004"),
        person("nogroup", "吴无", "E1005", "13900001005"),
        group("district-managers", "zhaoxin", "qianli", "sunqi", "zhouba"),
        group("team-leaders"),
    ]) + "\n")
    yield server
    server.stop()


def directory_settings(directory: Directory) -> dict[str, str]:
    return {
        "AUTH_METHOD": "ldap", "LDAP_URL": directory.ldap_uri, "LDAP_BIND_DN": directory.root_dn,
        "LDAP_BIND_PASSWORD": directory.root_pw, "LDAP_USER_BASE": PEOPLE,
        "LDAP_USER_FILTER": "(&(objectClass=inetOrgPerson)(employeeType=active))",
        "LDAP_GROUP_ROLE_MAP": json.dumps({DISTRICT_MANAGERS: "DistrictManager", TEAM_LEADERS: "TeamLeader"}),
        "AUTH_BREAK_GLASS_ADMIN": "admin", "DIRECTORY_CHECK_SECONDS": str(CHECK_SECONDS),
        "SIGNON_TEST_SCHEDULER": "1", "SCHEDULER_RECONCILE_SECONDS": "1",
    }


@pytest.fixture(scope="module")
def gridcare(directory: Directory, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    settings = directory_settings(directory)
    yield from (dict(server, settings=settings) for server in
                start_gridcare(tmp_path_factory.mktemp("gridcare-ldap"), free_port(), settings))


def admin_connection(directory: Directory) -> Any:
    con = ldap.initialize(directory.ldap_uri)
    con.simple_bind_s(directory.root_dn, directory.root_pw)
    return con


def api_login(base: str, username: str, password: str = "Directory#2026", provider: str = "ldap") -> requests.Response:
    return requests.post(f"{base}/api/v1/security/login", timeout=30,
                         json={"username": username, "password": password, "provider": provider})


def orders_seen(base: str, token: str) -> requests.Response:
    return requests.get(f"{base}/api/v1/workorder/", headers={"Authorization": f"Bearer {token}"}, timeout=30)


def order_numbers(database_url: str) -> dict[str, str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT g.code, w.number FROM work_order w JOIN org_grid g ON g.id = w.grid_id"))
        numbers = {code: number for code, number in rows}
    engine.dispose()
    return numbers


def test_district_manager_signs_in_by_form_and_api_with_the_role_of_the_group(gridcare):
    base = gridcare["base"]
    browser, landed = form_sign_in(base, "zhaoxin", "Directory#2026")
    assert landed.status_code == 200 and "/workorderview/list/" in landed.url, landed.url
    screen = browser.get(f"{base}/workorderview/list/", timeout=30).text
    numbers = order_numbers(gridcare["database"])
    assert numbers["ST001-G04"] in screen
    assert numbers["ST001-G01"] not in screen
    assert role_names(gridcare["database"], "zhaoxin") == ["DistrictManager"]

    answer = api_login(base, "zhaoxin")
    assert answer.status_code == 200, answer.text
    orders = orders_seen(base, answer.json()["access_token"])
    assert orders.status_code == 200, orders.text
    assert [order["grid"] for order in orders.json()["result"]] == ["ST001-G04"]


def test_first_login_creates_the_user_from_the_directory_and_links_the_staff_profile(gridcare):
    from sqlalchemy import create_engine, text

    assert api_login(gridcare["base"], "zhaoxin").status_code == 200
    engine = create_engine(gridcare["database"])
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT u.first_name, u.last_name, u.email, s.employee_no, s.mobile, s.name FROM ab_user u "
            "JOIN org_staff s ON s.user_id = u.id WHERE u.username = 'zhaoxin'")).one()
    engine.dispose()
    assert tuple(row) == ("新", "赵", "zhaoxin@station.example", "E1001", "13900001001", "赵新")


def test_moving_the_user_to_team_leaders_changes_the_role_at_next_login(gridcare, directory):
    base = gridcare["base"]
    assert api_login(base, "qianli").status_code == 200
    assert role_names(gridcare["database"], "qianli") == ["DistrictManager"]
    con = admin_connection(directory)
    con.modify_s(DISTRICT_MANAGERS, [(ldap.MOD_DELETE, "member", [f"uid=qianli,{PEOPLE}".encode()])])
    con.modify_s(TEAM_LEADERS, [(ldap.MOD_ADD, "member", [f"uid=qianli,{PEOPLE}".encode()])])
    con.unbind_s()
    _, landed = form_sign_in(base, "qianli", "Directory#2026")
    assert "/workorderview/list/" in landed.url, landed.url
    assert role_names(gridcare["database"], "qianli") == ["TeamLeader"]


def test_a_user_in_no_mapped_group_or_with_a_wrong_password_cannot_sign_in(gridcare):
    assert api_login(gridcare["base"], "nogroup").status_code == 401
    assert api_login(gridcare["base"], "zhaoxin", password="wrong").status_code == 401
    _, landed = form_sign_in(gridcare["base"], "zhaoxin", "wrong")
    assert "/login/" in landed.url


def test_disabled_directory_user_cannot_log_in_and_an_older_jwt_is_refused_after_the_interval(gridcare, directory):
    base = gridcare["base"]
    token = api_login(base, "sunqi").json()["access_token"]
    assert orders_seen(base, token).status_code == 200
    con = admin_connection(directory)
    con.modify_s(f"uid=sunqi,{PEOPLE}", [(ldap.MOD_REPLACE, "employeeType", [b"disabled"])])
    con.unbind_s()

    assert api_login(base, "sunqi").status_code == 401
    _, landed = form_sign_in(base, "sunqi", "Directory#2026")
    assert "/login/" in landed.url
    time.sleep(CHECK_SECONDS + 0.5)
    refused = orders_seen(base, token)
    assert refused.status_code == 401, refused.text


def test_the_directory_job_deactivates_users_whose_entry_is_gone(gridcare, directory):
    from sqlalchemy import create_engine, text

    from app.jobs.scheduler import DEFAULT_JOBS

    assert ("directory_sync", "app.security.signon.directory_sync_job", "40 * * * *") in [
        job[:3] for job in DEFAULT_JOBS]
    base = gridcare["base"]
    assert api_login(base, "zhouba").status_code == 200
    con = admin_connection(directory)
    con.delete_s(f"uid=zhouba,{PEOPLE}")
    con.unbind_s()

    # the break-glass administrator starts the job from the jobs screen ("run now")
    admin, _ = form_sign_in(base, "admin", DEMO_PASSWORD)
    engine = create_engine(gridcare["database"])
    with engine.connect() as conn:
        job_id = conn.execute(text("SELECT id FROM job_definition WHERE name = 'directory_sync'")).scalar_one()
    page = admin.get(f"{base}/jobdefinitionview/show/{job_id}", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert admin.post(f"{base}/jobdefinitionview/run/{job_id}", data={"csrf_token": token}, timeout=30).ok
    deadline = time.monotonic() + 60
    run = None
    while run is None and time.monotonic() < deadline:
        time.sleep(0.5)
        with engine.connect() as conn:
            run = conn.execute(text("SELECT outcome, error FROM job_run WHERE job_name = 'directory_sync' "
                                    "AND finished_at IS NOT NULL")).first()
    with engine.connect() as conn:
        active = dict(conn.execute(text("SELECT username, active FROM ab_user")).all())
    engine.dispose()
    assert run is not None and tuple(run) == ("success", None), run
    assert not active["zhouba"]
    assert active["zhaoxin"]
    assert active["admin"]  # the break-glass administrator is not in the directory
    assert not active["leader1"]  # a database account the directory does not list
    assert api_login(base, "zhouba").status_code == 401


def test_break_glass_admin_signs_in_with_the_database_password_and_is_audited(gridcare):
    from sqlalchemy import create_engine, text

    def audited() -> list[tuple]:
        engine = create_engine(gridcare["database"])
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT username, operation, remote_addr FROM audit_log "
                                     "WHERE entity = 'BreakGlassLogin' ORDER BY id")).all()
        engine.dispose()
        return [tuple(row) for row in rows]

    base = gridcare["base"]
    before = audited()
    refused = api_login(base, "leader1", DEMO_PASSWORD, provider="db")
    assert refused.status_code == 400 and "not allowed" in refused.json()["message"], refused.text
    assert api_login(base, "admin", "wrong-password", provider="db").status_code == 401
    answer = api_login(base, "admin", DEMO_PASSWORD, provider="db")
    assert answer.status_code == 200, answer.text
    _, landed = form_sign_in(base, "admin", DEMO_PASSWORD)
    assert "/workorderview/list/" in landed.url, landed.url
    assert audited()[len(before):] == [("admin", "login", "127.0.0.1"), ("admin", "login", "127.0.0.1")]
