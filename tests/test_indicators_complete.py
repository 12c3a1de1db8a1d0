"""Complete indicators (issue 15): the redo rate on the dashboard and in the PDF, the hotline's
three rates per channel, an application rate from the login history that never changes for a
past month, and a dashboard that opens on the month just ended during the first days."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest
import time_machine
from sqlalchemy import select

from app.models.workorder import WorkOrder
from app.workflow.calendar import LOCAL_TZ
from tests.factories import advance
from tests.reports_helpers import local, resolved_order

pytestmark = pytest.mark.date_sensitive


def at(year: int, month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=LOCAL_TZ)


def kpi(html: str, card: str) -> str:
    match = re.search(rf'id="{card}" data-value="([^"]*)"', html)
    assert match, f"no {card} card on the dashboard"
    return match.group(1)


def pdf_line(app, tmp_path, name: str, label: str) -> str:
    out = tmp_path / name
    result = app.test_cli_runner().invoke(args=["gridcare", "report", "evaluation", "--month", "2026-11",
                                                "--station", "ST001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], check=True, capture_output=True,
                          text=True).stdout
    lines = [line for line in text.splitlines() if label in line]
    assert lines, f"no {label} in the report"
    return " ".join(lines[0].split())


def test_dashboard_redo_rate_equals_the_count_from_the_orders_and_is_in_the_pdf(db_session, login_as, app,
                                                                                 tmp_path):
    with time_machine.travel(at(2026, 11, 25), tick=False):
        redone = resolved_order(db_session, "ST001-G01", local(2026, 11, 10), local(2026, 11, 10, 15),
                                satisfied=False)  # an unsatisfied return visit sends it back
        advance(db_session, redone, ("resolve", "manager1", {"resolution": "重新处理"}), now=local(2026, 11, 11))
        reopened = resolved_order(db_session, "ST001-G04", local(2026, 11, 12), local(2026, 11, 12, 15), score=90)
        advance(db_session, reopened, ("reopen", "leader1", {"reason": "客户再次来电"}), now=local(2026, 11, 13))
        for day in (16, 17, 18):
            resolved_order(db_session, "ST001-G02", local(2026, 11, day), local(2026, 11, day, 15))
        orders = db_session.scalars(select(WorkOrder)).all()
        from_orders = sum(1 for o in orders if o.redo_count > 0) / len(orders)
        assert from_orders == 2 / 5

        page = login_as("leader1").get("/dashboard/?month=2026-11").get_data(as_text=True)
        assert float(kpi(page, "redo-rate")) == from_orders
        assert "重办率" in page

    with time_machine.travel(at(2026, 12, 3), tick=False):
        assert "重办率 40.0%" in pdf_line(app, tmp_path, "november.pdf", "重办率")


def test_last_months_application_rate_is_unchanged_after_users_log_in_today(db_session, login_as, app, tmp_path):
    with time_machine.travel(at(2026, 11, 20), tick=False):
        login_as("manager2")  # signs in during November and does nothing else
    with time_machine.travel(at(2026, 12, 2, 9), tick=False):
        november = login_as("director1").get("/dashboard/?month=2026-11").get_data(as_text=True)
        before = kpi(november, "application-rate")
        pdf_before = pdf_line(app, tmp_path, "first.pdf", "功能应用率")
    assert before != ""
    with time_machine.travel(at(2026, 12, 3, 11), tick=False):
        # today: manager2 signs in again (last_login moves to December), others for the first time
        login_as("manager2")
        login_as("manager1")
        login_as("leader1")
        again = login_as("director1").get("/dashboard/?month=2026-11").get_data(as_text=True)
        assert kpi(again, "application-rate") == before
        assert pdf_line(app, tmp_path, "again.pdf", "功能应用率") == pdf_before
        december = login_as("director1").get("/dashboard/?month=2026-12").get_data(as_text=True)
        assert float(kpi(december, "application-rate")) > float(before)


def test_three_rates_per_channel_from_clocks_resolutions_and_return_visits(db_session, login_as):
    with time_machine.travel(at(2026, 11, 25), tick=False):
        resolved_order(db_session, "ST001-G01", local(2026, 11, 10), local(2026, 11, 10, 15),
                       channel="hotline_12345", demand_type="consultation", satisfied=True)
        resolved_order(db_session, "ST001-G01", local(2026, 11, 11), local(2026, 11, 11, 15),
                       channel="hotline_12345", demand_type="consultation", satisfied=False)
        page = login_as("leader1").get("/dashboard/?month=2026-11").get_data(as_text=True)
    row = re.search(r'data-channel="hotline_12345" data-response="([^"]*)" data-resolution="([^"]*)" '
                    r'data-satisfaction="([^"]*)"', page)
    assert row, "no three-rates row for the 12345 hotline"
    # both contacted in time (resolving meets the first-contact clock); one sent back for redo
    # is no longer resolved; one of two return visits satisfied
    assert tuple(float(v) for v in row.groups()) == (1.0, 0.5, 0.5)
    assert "各渠道三率" in page and "响应率" in page and "解决率" in page


@pytest.mark.parametrize(("now", "month", "label"), [
    (at(2026, 12, 2), "2026-11", "2026年11月"),  # first days: the month just ended
    (at(2026, 12, 20), "2026-12", "2026年12月"),
    (at(2027, 1, 1), "2026-12", "2026年12月"),
])
def test_dashboard_opens_on_the_last_complete_month_in_the_first_days_with_a_chinese_picker(
        login_as, now, month, label):
    with time_machine.travel(now, tick=False):
        page = login_as("leader1").get("/dashboard/").get_data(as_text=True)
    assert f'data-month="{month}"' in page
    picker = page.split('id="month-picker"', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{month}" selected>{label}</option>' in picker
    assert 'type="month"' not in page
