"""Personal data under proof: full phone and ID numbers never reach a role without the
PersonalData permission (every list screen, details, exports, API answers); a search or sort
on them by such a role is refused with 403 on every list screen and API; and every request
that shows full numbers to a permitted role leaves a ``PersonalDataAccess`` audit entry."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.models.security import AuditEntry
from app.security.access import role_allows
from tests.factories import make_customer, make_order

PHONE, ID_NUMBER = "13812349876", "330102199001019876"
MASKED_PHONE = "138****9876"


@pytest.fixture
def customer(db_session):
    found = make_customer(db_session, "ST001-G01", name="隐私测试客户", phone=PHONE, id_number=ID_NUMBER)
    order = make_order(db_session, "ST001-G01", customer_no=found.customer_no, phone=PHONE,
                       contact_name="隐私测试客户", content="隐私测试工单")
    return {"customer": found.id, "order": order.id, "customer_no": found.customer_no}


def _list_views(app):
    from app.extensions import appbuilder
    from app.views.common import GridCareModelView

    with app.app_context():
        return [(type(view).__name__, view.route_base) for view in appbuilder.baseviews
                if isinstance(view, GridCareModelView)]


def _personal_entries(db_session, username=None):
    db_session.rollback()
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.entity == "personal_data")).all()
    return [e for e in entries if username is None or e.username == username]


@pytest.mark.parametrize("username,role", [("manager1", "DistrictManager"), ("director1", "StationManager")])
def test_no_screen_api_or_export_shows_a_full_number_to_a_role_without_personal_data(
        app, db_session, customer, login_as, api_as, username, role):
    screen = login_as(username)
    pages = [f"/customerview/show/{customer['customer']}", f"/workorderview/show/{customer['order']}",
             f"/onsite/customer/{customer['customer']}", "/energy/customers"]
    pages += [f"{base}/list/" for name, base in _list_views(app) if role_allows(role, "can_list", name)]
    shown = 0
    for url in pages:
        response = screen.get(url)
        body = response.get_data(as_text=True)
        assert PHONE not in body and ID_NUMBER not in body, url
        shown += MASKED_PHONE in body
    assert shown >= 3  # the customer and order lists and details do show the masked form
    exported = screen.get("/energy/customers/export?format=csv")
    assert exported.status_code == 200 and PHONE not in exported.get_data(as_text=True)
    assert MASKED_PHONE in exported.get_data(as_text=True)

    api = api_as(username)
    for url in [f"/api/v1/workorder/{customer['order']}", "/api/v1/workorder/",
                f"/api/v1/onsite/customers/{customer['customer']}",
                f"/api/v1/onsite/customers?q={customer['customer_no']}", "/api/v1/energy/customers",
                "/api/v1/energy/customers/export?format=csv"]:
        response = api.get(url)
        assert response.status_code == 200, (url, response.status_code)
        body = response.get_data(as_text=True)
        assert PHONE not in body and ID_NUMBER not in body, url
    sheet = load_workbook(io.BytesIO(api.get("/api/v1/energy/customers/export?format=xlsx").data)).active
    cells = {str(cell.value) for row in sheet.iter_rows() for cell in row}
    assert MASKED_PHONE in cells and PHONE not in cells
    assert _personal_entries(db_session, username) == []


@pytest.mark.parametrize("username,role", [("manager1", "DistrictManager"), ("director1", "StationManager")])
def test_search_or_sort_on_a_masked_field_is_refused_on_every_list(app, login_as, api_as, username, role):
    screen = login_as(username)
    checked = 0
    for name, base in _list_views(app):
        if not role_allows(role, "can_list", name):
            continue
        for query in ("_flt_0_phone=13812349876", "_flt_1_id_number=3301", f"_oc_{name}=phone&_od_{name}=asc"):
            assert screen.get(f"{base}/list/?{query}").status_code == 403, (name, query)
        checked += 1
    assert checked >= 10
    for url in ["/energy/customers?phone=138", "/energy/customers/export?format=csv&id_number=3301"]:
        assert screen.get(url).status_code == 403, url
    api = api_as(username)
    for url in ["/api/v1/workorder/?phone=13812349876", "/api/v1/workorder/?id_number=3301",
                "/api/v1/onsite/customers?phone=13812349876", "/api/v1/energy/customers?phone=138",
                "/api/v1/energy/customers/export?id_number=3301"]:
        refused = api.get(url)
        assert refused.status_code == 403 and refused.is_json, (url, refused.status_code)


def test_a_permitted_role_sees_full_numbers_and_the_access_is_logged(app, db_session, customer, login_as, api_as):
    leader = login_as("leader1")
    page = leader.get(f"/customerview/show/{customer['customer']}").get_data(as_text=True)
    assert PHONE in page and ID_NUMBER in page
    entries = _personal_entries(db_session, "leader1")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.operation == "read" and entry.changes["event"] == "PersonalDataAccess"
    assert entry.changes["path"] == f"/customerview/show/{customer['customer']}"
    assert entry.changes["fields"]["phone"] >= 1 and entry.changes["fields"]["id_number"] >= 1
    assert entry.remote_addr and entry.user_id is not None
    # the numbers themselves are never copied into the log
    assert PHONE not in str(entry.changes) and ID_NUMBER not in str(entry.changes)

    operator = api_as("operator1")
    answer = operator.get(f"/api/v1/workorder/{customer['order']}")
    assert PHONE in answer.get_data(as_text=True)
    logged = _personal_entries(db_session, "operator1")
    assert [e.changes["path"] for e in logged] == [f"/api/v1/workorder/{customer['order']}"]
    # a permitted filter is applied, not refused
    found = operator.get("/api/v1/onsite/customers", query_string={"phone": PHONE})
    assert found.status_code == 200 and [c["id"] for c in found.get_json()["result"]] == [customer["customer"]]
    exported = login_as("leader1").get("/energy/customers/export?format=csv")
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert any(PHONE in row for row in rows)
    assert any(e.changes["path"].startswith("/energy/customers/export") for e in _personal_entries(db_session, "leader1"))


def test_a_refused_request_logs_no_access(db_session, customer, api_as):
    answer = api_as("leader2").get(f"/api/v1/workorder/{customer['order']}")  # other station
    assert answer.status_code == 403
    assert _personal_entries(db_session) == []


def test_the_evaluation_pdf_carries_no_full_number(tmp_path, customer, login_as):
    import datetime as dt
    import subprocess

    month = dt.date.today().strftime("%Y-%m")
    response = login_as("director1").get(f"/report/evaluation?month={month}")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert text.strip()
    assert PHONE not in text and ID_NUMBER not in text and PHONE[-8:] not in text
