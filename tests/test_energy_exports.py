"""Customer list production: filter, then export .xlsx and CSV with Chinese headers, masked per role."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from app.energy.customers import HEADERS
from app.models.customer import CustomerTag, EnergyIntention
from tests.factories import make_customer


def _customers(session):
    pv = session.scalar(select(EnergyIntention).where(EnergyIntention.code == "pv"))
    elderly = session.scalar(select(CustomerTag).where(CustomerTag.code == "elderly_alone"))
    wanted = [make_customer(session, "ST001-G01", phone="13811112222", intentions=[pv]),
              make_customer(session, "ST001-G02", phone="13833334444", intentions=[pv], tags=[elderly])]
    make_customer(session, "ST001-G01")  # no intention
    make_customer(session, "ST001-G04", intentions=[pv])  # manager2's grid
    return wanted


def test_exported_xlsx_opens_with_openpyxl_and_holds_filtered_customers_masked(db_session, api_as):
    wanted = _customers(db_session)
    response = api_as("manager1").get("/api/v1/energy/customers/export?format=xlsx&intention=pv")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADERS and rows[0][:4] == ("户号", "户名", "用电类别", "联系电话")
    assert [r[0] for r in rows[1:]] == [c.customer_no for c in wanted]
    assert [r[3] for r in rows[1:]] == ["138****2222", "138****4444"]
    assert rows[2][2] == "居民" and rows[2][10] == "独居老人" and rows[2][11] == "屋顶光伏"

    tagged = load_workbook(io.BytesIO(api_as("manager1").get(
        "/api/v1/energy/customers/export?format=xlsx&intention=pv&tag=elderly_alone").data)).active
    assert [r[0] for r in tagged.iter_rows(min_row=2, values_only=True)] == [wanted[1].customer_no]


def test_csv_export_from_the_screen_has_chinese_headers_and_full_phones_for_leader(db_session, login_as):
    wanted = _customers(db_session)
    leader = login_as("leader1")
    page = leader.get("/energy/customers?intention=pv&grid=ST001-G02").get_data(as_text=True)
    assert wanted[1].customer_no in page and wanted[0].customer_no not in page
    response = leader.get("/energy/customers/export?format=csv&intention=pv")
    assert response.status_code == 200
    text = response.data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADERS
    # The leader's team holds G01–G06: manager2's customer is in it too.
    assert len(rows) == 4 and [r[3] for r in rows[1:3]] == ["13811112222", "13833334444"]
    assert login_as("operator1").get("/energy/customers/export?format=csv").status_code in (302, 403)
