"""The statutory calendar as data: years entered by administrators (browser, CSV, REST),
provisional deadlines while a year is missing, recomputed once it is entered, and the
warning administrators see from 1 November."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import delete, select

from app.models.calendar import CalendarDay, CalendarYear
from app.models.notification import Notification
from app.models.workorder import WorkOrder, WorkOrderEvent
from app.workflow import calendar
from app.workflow.calendar import LOCAL_TZ
from tests.conftest import csrf_from
from tests.factories import make_order

pytestmark = pytest.mark.date_sensitive

# An arrangement for 2027 as the State Council might publish it (New Year's Day on a Friday).
NEW_YEAR_2027 = ["2027-01-01 元旦", "2027-01-02 元旦", "2027-01-03 元旦"]
SPRING_2027 = [f"2027-02-{day:02d} 春节" for day in range(6, 13)]
MAKE_UP_2027 = ["2027-02-20 春节"]


@pytest.fixture
def without_2027(app):
    """2027 is not entered (no release of chinesecalendar covers it); put back as found."""
    from app.extensions import db

    def forget() -> None:
        with app.app_context():
            db.session.execute(delete(CalendarDay).where(CalendarDay.year >= 2027))
            db.session.execute(delete(CalendarYear).where(CalendarYear.year >= 2027))
            db.session.commit()
        calendar.invalidate()

    forget()
    yield
    forget()


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL_TZ)


def _enter_year_in_browser(admin, year: int, holidays: list[str], workdays: list[str], complete: bool = True):
    page = admin.get(f"/calendar/{year}")
    assert page.status_code == 200
    form = {"csrf_token": csrf_from(page.get_data(as_text=True)), "holidays": "\n".join(holidays),
            "workdays": "\n".join(workdays)}
    if complete:
        form["complete"] = "y"
    return admin.post(f"/calendar/{year}", data=form, follow_redirects=True)


def test_an_order_needing_days_of_a_year_not_entered_has_a_provisional_deadline_until_it_is(
        app, db_session, login_as, api_as, without_2027):
    # Wednesday 30 December 2026, 3 working days: Thu 31 Dec, then 2027.
    order = make_order(db_session, received_at=local(2026, 12, 30, 10, 0))
    assert order.deadline_working_days == 3
    assert order.deadline_provisional is True
    # Counted Monday–Friday: 1 January 2027 (a Friday) counts, so Monday 4 January 10:00.
    assert order.deadline.astimezone(LOCAL_TZ) == local(2027, 1, 4, 10, 0)
    shown = api_as("leader1").get(f"/api/v1/workorder/{order.id}").get_json()["result"]
    assert shown["deadline_provisional"] is True
    leader = login_as("leader1")
    assert "暂定" in leader.get("/workorderview/list/").get_data(as_text=True)
    assert "暂定：该年度法定节假日尚未录入" in leader.get(f"/workorderview/show/{order.id}").get_data(as_text=True)

    admin = login_as("admin")
    saved = _enter_year_in_browser(admin, 2027, NEW_YEAR_2027 + SPRING_2027, MAKE_UP_2027)
    assert "2027 年已保存；1 张工单的暂定处理时限已重新计算" in saved.get_data(as_text=True)

    db_session.rollback()  # end the test's read snapshot: see what the requests committed
    settled = db_session.get(WorkOrder, order.id)
    assert settled.deadline_provisional is False
    # 1 January is a holiday now: the third working day ends on Tuesday 5 January, 10:00.
    assert settled.deadline.astimezone(LOCAL_TZ) == local(2027, 1, 5, 10, 0)
    event = db_session.scalar(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order.id,
                                                           WorkOrderEvent.action == "recompute_deadline"))
    assert event is not None and event.data["new_deadline"].startswith("2027-01-05T02:00")
    shown = api_as("leader1").get(f"/api/v1/workorder/{order.id}").get_json()["result"]
    assert shown["deadline_provisional"] is False
    assert "暂定：" not in leader.get(f"/workorderview/show/{order.id}").get_data(as_text=True)


def test_an_order_within_entered_years_is_not_provisional(app, db_session):
    order = make_order(db_session, received_at=local(2026, 9, 30, 10, 0))
    assert order.deadline_provisional is False
    # National Day 1–7 October and the make-up Saturday 10 October are on the calendar.
    assert order.deadline.astimezone(LOCAL_TZ) == local(2026, 10, 10, 10, 0)


def test_calendar_api_reads_a_year_and_only_administrators_enter_one(app, api_as, without_2027):
    manager = api_as("manager1")
    body = manager.get("/api/v1/calendar/2027").get_json()
    assert body == {"year": 2027, "complete": False, "holidays": [], "workdays": []}
    known = manager.get("/api/v1/calendar/2026").get_json()
    assert known["complete"] is True and "2026-10-01" in known["holidays"] and "2026-10-10" in known["workdays"]

    put = {"year": 2027, "complete": True, "holidays": [d.split()[0] for d in NEW_YEAR_2027 + SPRING_2027],
           "workdays": ["2027-02-20"]}
    refused = manager.client.put("/api/v1/calendar/2027", json=put, headers=manager.headers)
    assert refused.status_code == 403
    admin = api_as("admin")
    saved = admin.client.put("/api/v1/calendar/2027", json=put, headers=admin.headers)
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.get_json()["complete"] is True
    again = manager.get("/api/v1/calendar/2027").get_json()
    assert again["complete"] is True and again["workdays"] == ["2027-02-20"] and "2027-01-01" in again["holidays"]
    assert calendar.is_working_day(dt.date(2027, 2, 20)) and not calendar.is_working_day(dt.date(2027, 1, 1))


def test_calendar_api_refuses_bad_input_naming_the_field(app, api_as, without_2027):
    admin = api_as("admin")
    bad_date = admin.client.put("/api/v1/calendar/2027", headers=admin.headers,
                                json={"complete": True, "holidays": ["2027-13-01"], "workdays": []})
    assert bad_date.status_code == 400 and bad_date.get_json()["field"] == "holidays"
    weekday = admin.client.put("/api/v1/calendar/2027", headers=admin.headers,
                               json={"complete": True, "holidays": ["2027-01-01"], "workdays": ["2027-01-04"]})
    assert weekday.status_code == 400 and weekday.get_json()["field"] == "workdays"
    other_year = admin.client.put("/api/v1/calendar/2027", headers=admin.headers,
                                  json={"complete": True, "holidays": ["2028-01-01"], "workdays": []})
    assert other_year.status_code == 400 and "2028-01-01" in other_year.get_json()["message"]
    assert admin.get("/api/v1/calendar/2027").get_json()["complete"] is False  # nothing half-saved


def test_browser_form_keeps_what_was_typed_and_names_the_bad_line(app, login_as, without_2027):
    admin = login_as("admin")
    page = _enter_year_in_browser(admin, 2027, ["2027-01-01 元旦", "2027-02-30 春节"], [])
    html = page.get_data(as_text=True)
    assert "2027-02-30" in html and "calendar-error" in html and "2027-01-01 元旦" in html
    assert calendar.year_complete(2027) is False


def test_administrators_import_a_year_from_csv(app, login_as, db_session, without_2027):
    admin = login_as("admin")
    page = admin.get("/calendar/")
    rows = "日期,类型,名称\n" + "\n".join(f"{d.split()[0]},节假日,{d.split()[1]}" for d in NEW_YEAR_2027 + SPRING_2027)
    rows += "\n2027-02-20,调休上班,春节\n"
    response = admin.post("/calendar/import", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                    "file": (__import__("io").BytesIO(rows.encode("gbk")), "2027.csv")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "已导入 2027 年" in response.get_data(as_text=True)
    db_session.rollback()  # end the test's read snapshot: see what the requests committed
    year = db_session.get(CalendarYear, 2027)
    assert year.complete and year.source == "csv"
    assert calendar.is_working_day(dt.date(2027, 2, 20)) and not calendar.is_working_day(dt.date(2027, 2, 8))

    broken = "date,kind\n2027-05-01,holiday\n2027-05-02,vacation\n"
    page = admin.get("/calendar/")
    refused = admin.post("/calendar/import", data={"csrf_token": csrf_from(page.get_data(as_text=True)),
                                                   "file": (__import__("io").BytesIO(broken.encode()), "x.csv")},
                         content_type="multipart/form-data", follow_redirects=True)
    text = refused.get_data(as_text=True)
    assert "line 3" in text and "vacation" in text
    assert not calendar.is_working_day(dt.date(2027, 2, 8))  # 2027 as imported before, untouched


def test_the_calendar_screen_is_for_administrators_only(app, login_as):
    assert login_as("leader1").get("/calendar/").status_code == 403
    assert login_as("admin").get("/calendar/").status_code == 200


def test_from_first_november_administrators_are_warned_on_every_page_until_next_year_is_entered(
        app, login_as, without_2027):
    with time_machine.travel(local(2026, 10, 31, 10, 0), tick=False):
        admin = login_as("admin")
        assert "calendar-warning" not in admin.get("/workorderview/list/").get_data(as_text=True)
    with time_machine.travel(local(2026, 11, 1, 10, 0), tick=False):
        admin = login_as("admin")
        for page in ("/workorderview/list/", "/dashboard/", "/calendar/"):
            html = admin.get(page, follow_redirects=True).get_data(as_text=True)
            assert "calendar-warning" in html and "2027 年法定节假日安排尚未录入" in html, page
        leader_page = login_as("leader1").get("/workorderview/list/").get_data(as_text=True)
        assert "calendar-warning" not in leader_page
        _enter_year_in_browser(admin, 2027, NEW_YEAR_2027 + SPRING_2027, MAKE_UP_2027)
        assert "calendar-warning" not in admin.get("/workorderview/list/").get_data(as_text=True)


def test_the_watch_job_notifies_administrators_once_a_day_from_first_november(app, db_session, without_2027):
    from app.jobs.calendar import calendar_watch_job

    with app.app_context():
        assert calendar_watch_job(db_session, local(2026, 10, 31, 8, 0)) == {"missing": 0, "notified": 0}
        first = calendar_watch_job(db_session, local(2026, 11, 1, 8, 0))
        assert first["missing"] == 1 and first["notified"] >= 1
        assert calendar_watch_job(db_session, local(2026, 11, 1, 20, 0))["notified"] == 0  # once a day
        assert calendar_watch_job(db_session, local(2026, 11, 2, 8, 0))["notified"] == first["notified"]
    titles = {n.title for n in db_session.scalars(select(Notification).where(Notification.kind == "calendar"))}
    assert titles == {"2027 年法定节假日安排尚未录入"}


def test_the_recompute_job_settles_orders_once_another_process_entered_the_year(app, db_session, without_2027):
    from app.workflow.calendar_data import HOLIDAY
    from app.workflow.deadlines import recompute_provisional_job

    order = make_order(db_session, received_at=local(2026, 12, 30, 10, 0))
    assert order.deadline_provisional
    # Another process (the REST API on another worker) enters 2027 straight into the table.
    db_session.add(CalendarYear(year=2027, complete=True, source="api", updated_at=local(2026, 12, 31, 9, 0)))
    db_session.flush()
    db_session.add_all([CalendarDay(day=dt.date.fromisoformat(d.split()[0]), year=2027, kind=HOLIDAY)
                        for d in NEW_YEAR_2027])
    db_session.commit()
    with app.app_context():
        assert recompute_provisional_job(db_session, local(2026, 12, 31, 10, 20)) == {"recomputed": 1}
    db_session.rollback()  # end the test's read snapshot: see what the requests committed
    assert db_session.get(WorkOrder, order.id).deadline.astimezone(LOCAL_TZ) == local(2027, 1, 5, 10, 0)
