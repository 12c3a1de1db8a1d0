"""Formula injection (issue 14): text a spreadsheet would run — beginning with ``=``, ``+``,
``-``, ``@``, or a tab / carriage return — opens as text in every customer export, XLSX and
CSV, from the screen and from the API."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from app.energy.customers import HEADERS
from tests.factories import make_customer

PLANTED = {  # customer name -> address, as a district manager could type them
    "=HYPERLINK(\"http://evil.example\",\"点我\")": "=1+1",
    "+cmd|' /C calc'!A0": "+86 示范路1号",
    "-2+3+cmd|' /C calc'!A0": "-示范路2号",
    "@SUM(1+1)*cmd|' /C calc'!A0": "@示范路3号",
    "\t=1+2": "\r=3+4",
}
ADDRESS = HEADERS.index("用电地址")


@pytest.fixture
def planted(db_session):
    for name, address in PLANTED.items():
        make_customer(db_session, "ST001-G01", name=name, address=address)
    db_session.commit()


def _exports(login_as, api_as, fmt):
    yield "screen", login_as("leader1").get(f"/energy/customers/export?format={fmt}")
    yield "api", api_as("leader1").get(f"/api/v1/energy/customers/export?format={fmt}")


def test_formula_like_cells_of_the_customer_xlsx_export_open_as_text(planted, login_as, api_as):
    for edge, response in _exports(login_as, api_as, "xlsx"):
        assert response.status_code == 200, edge
        sheet = load_workbook(io.BytesIO(response.data)).active
        rows = list(sheet.iter_rows(min_row=2))
        assert len(rows) == len(PLANTED), edge
        for row in rows:
            name, address = row[1], row[ADDRESS]
            for cell in (name, address):
                assert cell.data_type == "s", (edge, cell.value)  # text, not "f" (formula)
                assert cell.quotePrefix, (edge, cell.value)
            # the text itself is kept as typed (XML stores a carriage return as a line feed)
            assert PLANTED[name.value].replace("\r", "\n") == address.value


def test_formula_like_cells_of_the_customer_csv_export_start_with_an_apostrophe(planted, login_as, api_as):
    for edge, response in _exports(login_as, api_as, "csv"):
        assert response.status_code == 200, edge
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"), newline="")))
        assert rows[0] == HEADERS
        exported = {row[1]: row[ADDRESS] for row in rows[1:]}
        assert exported == {"'" + name: "'" + address for name, address in PLANTED.items()}, edge


def test_ordinary_text_and_numbers_are_exported_unchanged(db_session, login_as):
    make_customer(db_session, "ST001-G01", name="普通客户", address="示范路-5号", contract_capacity_kva=-5)
    db_session.commit()
    sheet = load_workbook(io.BytesIO(login_as("leader1").get("/energy/customers/export?format=xlsx").data)).active
    row = [cell for cell in next(sheet.iter_rows(min_row=2))]
    assert row[1].value == "普通客户" and row[ADDRESS].value == "示范路-5号" and not row[1].quotePrefix
    assert row[HEADERS.index("合同容量(kVA)")].value == -5
