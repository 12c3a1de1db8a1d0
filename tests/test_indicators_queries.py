"""The indicator queries themselves: each figure against the orders that make it."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select, update

from app.indicators import month_period, resolve_scope
from app.indicators.queries import (
    application_rate,
    backlog,
    dashboard_indicators,
    evaluation,
    leaderboard,
    on_time_resolution,
    satisfaction,
    timeliness,
)
from app.models.login import LoginRecord
from app.models.points import WorkPointEntry
from app.workflow.errors import OutOfScope
from tests.factories import actor, advance, make_order, staff
from tests.reports_helpers import local, october_orders, resolved_order

pytestmark = pytest.mark.date_sensitive

OCTOBER = month_period(2026, 10)
AFTER = local(2026, 11, 20)


def _station(session, username="director1"):
    viewer = actor(session, username)
    return viewer, resolve_scope(session, viewer)


def test_average_handling_hours_and_score_distribution(db_session):
    resolved_order(db_session, "ST001-G01", local(2026, 10, 12), local(2026, 10, 12, 15), score=95)
    resolved_order(db_session, "ST001-G02", local(2026, 10, 13), local(2026, 10, 13, 19), score=58)
    viewer, scope = _station(db_session)
    figures = timeliness(db_session, viewer, scope, OCTOBER)
    assert figures["resolved"] == 2 and figures["avg_handling_hours"] == pytest.approx(8.0)  # (6 h + 10 h) / 2
    scores = evaluation(db_session, viewer, scope, OCTOBER)
    assert scores["avg_score"] == pytest.approx(76.5)
    assert {b["bucket"]: b["count"] for b in scores["distribution"]} == {
        "<60": 1, "60–69": 0, "70–79": 0, "80–89": 0, "90–100": 1}


def test_on_time_resolution_counts_orders_still_open_past_their_deadline(db_session):
    resolved_order(db_session, "ST001-G01", local(2026, 10, 12), local(2026, 10, 12, 15))  # on time
    make_order(db_session, "ST001-G02", received_at=local(2026, 10, 12))  # never resolved
    viewer, scope = _station(db_session)
    figures = on_time_resolution(db_session, viewer, scope, OCTOBER, AFTER)
    assert figures == {"due": 2, "due_on_time": 1, "on_time_rate": 0.5}
    assert timeliness(db_session, viewer, scope, OCTOBER)["timely_rate"] == 1.0  # the open one is not "resolved"


def test_a_voided_order_is_not_due_for_on_time_resolution(db_session):
    resolved_order(db_session, "ST001-G01", local(2026, 10, 12), local(2026, 10, 12, 15))  # on time
    voided = make_order(db_session, "ST001-G02", received_at=local(2026, 10, 12))
    advance(db_session, voided, ("void", "leader1", {"reason": "客户重复来电"}), now=local(2026, 10, 12, 10))
    viewer, scope = _station(db_session)
    figures = on_time_resolution(db_session, viewer, scope, OCTOBER, AFTER)
    assert figures == {"due": 1, "due_on_time": 1, "on_time_rate": 1.0}


def test_satisfaction_comes_from_return_visits(db_session):
    resolved_order(db_session, "ST001-G01", local(2026, 10, 12), local(2026, 10, 12, 15), satisfied=True)
    resolved_order(db_session, "ST001-G02", local(2026, 10, 12), local(2026, 10, 12, 16), satisfied=True)
    resolved_order(db_session, "ST001-G04", local(2026, 10, 14), local(2026, 10, 14, 16), satisfied=False)
    resolved_order(db_session, "ST002-G01", local(2026, 10, 14), local(2026, 10, 14, 16), satisfied=False)
    viewer, scope = _station(db_session)
    assert satisfaction(db_session, viewer, scope, OCTOBER) == {
        "return_visits": 3, "satisfied": 2, "satisfaction_rate": pytest.approx(2 / 3)}


def test_backlog_counts_open_overdue_and_supervised_now(db_session):
    overdue = make_order(db_session, "ST001-G01", received_at=local(2026, 10, 12))
    make_order(db_session, "ST001-G02", received_at=local(2026, 11, 19))  # open, not yet due
    advance(db_session, overdue, ("supervise", "leader1", {}), now=local(2026, 10, 20))
    make_order(db_session, "ST002-G01", received_at=local(2026, 10, 12), by="operator2")
    viewer, scope = _station(db_session)
    assert backlog(db_session, viewer, scope, AFTER) == {"open": 2, "overdue": 1, "supervised": 1}


def test_leaderboard_ranks_work_points_of_the_scope_only(db_session):
    for username, points in (("manager1", 10), ("manager2", 25), ("manager1", 7.5), ("st2_manager1", 99)):
        db_session.add(WorkPointEntry(staff_id=staff(db_session, username).id, source_type="work_order",
                                      points=points, created_at=local(2026, 10, 15)))
    db_session.add(WorkPointEntry(staff_id=staff(db_session, "manager1").id, source_type="work_order",
                                  points=50, created_at=local(2026, 9, 15)))
    db_session.commit()
    viewer, scope = _station(db_session)
    board = leaderboard(db_session, viewer, scope, OCTOBER)
    assert [(row["name"], row["points"]) for row in board] == [("张台区", 25.0), ("李台区", 17.5)]


def test_application_rate_counts_staff_who_signed_in_or_acted(db_session):
    october_orders(db_session)  # operator1, leader1, manager1, manager2 act in October
    db_session.execute(update(User).values(last_login=None))
    db_session.commit()
    viewer, scope = _station(db_session)
    figures = application_rate(db_session, viewer, scope, OCTOBER)
    # ST001 staff: director1, leader1, manager1, manager2, manager3, operator1 → 4 of 6 used it.
    assert (figures["staff"], figures["active_staff"]) == (6, 4)
    director = db_session.scalar(select(User).where(User.username == "director1"))
    # Flask-AppBuilder's last_login is not the measure (it only keeps the latest sign-in)…
    director.last_login = dt.datetime(2026, 10, 30, 2, 0)
    db_session.commit()
    assert application_rate(db_session, viewer, scope, OCTOBER)["active_staff"] == 4
    # …the login history is: a sign-in on 30 October counts for October
    db_session.add(LoginRecord(user_id=director.id, channel="mobile",
                               logged_in_at=dt.datetime(2026, 10, 30, 2, 0, tzinfo=dt.timezone.utc)))
    db_session.commit()
    assert application_rate(db_session, viewer, scope, OCTOBER)["active_staff"] == 5


def test_visits_and_anomalies_are_not_available_until_their_tables_exist(db_session, login_as):
    from sqlalchemy import inspect

    tables = inspect(db_session.get_bind())
    viewer, scope = _station(db_session)
    figures = dashboard_indicators(db_session, viewer, scope, OCTOBER, AFTER)
    assert (figures["visits_made"] is None) == (not tables.has_table("onsite_visit"))
    assert (figures["anomalies_open"] is None) == (not tables.has_table("onsite_meter_box_anomaly"))
    html = login_as("director1").get("/dashboard/?month=2026-10").get_data(as_text=True)
    if figures["visits_made"] is None:
        assert re.search(r'id="visits-made" data-value="">.*?暂无数据', html, re.S)


def test_scope_outside_the_viewer_is_refused(db_session):
    leader = actor(db_session, "leader1")
    with pytest.raises(OutOfScope):
        resolve_scope(db_session, leader, "station", "ST002")
    with pytest.raises(OutOfScope):
        resolve_scope(db_session, actor(db_session, "manager1"), "person", staff(db_session, "manager2").id)
    assert resolve_scope(db_session, leader, "grid", "ST001-G04").label.startswith("ST001-G04")
