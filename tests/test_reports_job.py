"""The monthly report run is a scheduled job that computes with its tick's time: a month's
report is owed from the next month's first working day, and a late tick makes it up once."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.jobs import runner
from app.jobs.scheduler import ensure_default_jobs
from app.models.org import Station
from app.models.report import ReportArchive, ReportDelivery, ReportSubscription
from app.workflow.calendar import LOCAL_TZ

pytestmark = pytest.mark.date_sensitive

SUBSCRIBED = dt.datetime(2026, 11, 10, 9, tzinfo=LOCAL_TZ)


def _subscribe(db_session, created_at: dt.datetime = SUBSCRIBED) -> ReportSubscription:
    station = db_session.scalar(select(Station).where(Station.code == "ST001"))
    subscription = ReportSubscription(name="城东月报", station_id=station.id, created_at=created_at,
                                      recipients="director1@gridcare.example", active=True)
    db_session.add(subscription)
    db_session.commit()
    return subscription


def _tick(db_session, moment: dt.datetime):
    return runner.execute(db_session, "monthly_reports", scheduled_at=moment)


def test_nothing_is_due_before_the_month_has_ended_and_its_first_working_day_come(app, db_session):
    ensure_default_jobs(db_session)
    _subscribe(db_session)
    with app.app_context():
        # Sunday 29 November 2026: November has not ended; no report is owed.
        idle = _tick(db_session, dt.datetime(2026, 11, 29, 7, tzinfo=LOCAL_TZ))
    assert idle.outcome == "success" and idle.counts == {"due": 0}
    assert db_session.scalar(select(ReportArchive)) is None


def test_a_first_working_day_tick_run_two_days_late_sends_last_months_report_once(app, db_session):
    from app.reports.runs import first_working_day

    ensure_default_jobs(db_session)
    _subscribe(db_session)
    first = first_working_day(dt.date(2026, 12, 1))
    assert first == dt.date(2026, 12, 1)
    late = dt.datetime.combine(first + dt.timedelta(days=2), dt.time(7), tzinfo=LOCAL_TZ)
    with app.app_context():
        run = _tick(db_session, late)
        assert run.outcome == "success", run.error
        assert run.counts["due"] == 1 and run.counts["rendered"] == 1 and run.counts["sent"] == 1
        assert run.counts["months"] == "2026-11"
        again = _tick(db_session, late + dt.timedelta(days=1))
    assert again.counts == {"due": 0}
    archives = db_session.scalars(select(ReportArchive)).all()
    assert [a.month for a in archives] == ["2026-11"]
    assert db_session.scalar(select(func.count()).select_from(ReportDelivery)) == 1


def test_a_month_whose_run_was_missed_entirely_is_made_up_by_the_next_months_run(app, db_session):
    ensure_default_jobs(db_session)
    _subscribe(db_session, created_at=dt.datetime(2026, 10, 20, 9, tzinfo=LOCAL_TZ))
    with app.app_context():
        # No scheduler ran in November; the first tick on record is December's.
        run = _tick(db_session, dt.datetime(2026, 12, 1, 7, tzinfo=LOCAL_TZ))
    assert run.counts["due"] == 2 and run.counts["months"] == "2026-10,2026-11"
    assert sorted(a.month for a in db_session.scalars(select(ReportArchive))) == ["2026-10", "2026-11"]


def test_the_job_reads_its_ticks_time_not_the_wall_clock(app, db_session):
    import time_machine

    ensure_default_jobs(db_session)
    _subscribe(db_session)
    # The wall clock says 1 December (a first working day); the tick is Sunday 29 November.
    with time_machine.travel(dt.datetime(2026, 12, 1, 7, 5, tzinfo=LOCAL_TZ), tick=False), app.app_context():
        idle = _tick(db_session, dt.datetime(2026, 11, 29, 7, tzinfo=LOCAL_TZ))
    assert idle.counts == {"due": 0}
