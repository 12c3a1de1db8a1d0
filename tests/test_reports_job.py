"""The monthly report run is a scheduled job: due on the first working day only."""

from __future__ import annotations

import datetime as dt

from app.jobs import runner
from app.jobs.scheduler import ensure_default_jobs
from app.models.report import ReportArchive, ReportSubscription
from app.workflow.calendar import LOCAL_TZ


def test_monthly_report_job_runs_on_the_first_working_day_and_archives_the_report(app, db_session):
    from sqlalchemy import select

    from app.models.org import Station

    ensure_default_jobs(db_session)
    station = db_session.scalar(select(Station).where(Station.code == "ST001"))
    db_session.add(ReportSubscription(name="城东月报", station_id=station.id,
                                      recipients="director1@gridcare.example", active=True))
    db_session.commit()
    with app.app_context():
        # Sunday 29 November 2026 is not the first working day: nothing is due.
        idle = runner.execute(db_session, "monthly_reports",
                              scheduled_at=dt.datetime(2026, 11, 29, 7, tzinfo=LOCAL_TZ))
        assert idle.outcome == "success" and idle.counts == {"due": 0}
        assert db_session.scalar(select(ReportArchive)) is None
    # The job passes "now" itself; check the adapter with the first working day of December.
    from app.reports.runs import first_working_day, monthly_reports_job

    first = first_working_day(dt.date(2026, 12, 1))
    with app.app_context():
        counts = monthly_reports_job(db_session, dt.datetime.combine(first, dt.time(7), tzinfo=LOCAL_TZ))
    assert counts["due"] == 1 and counts["rendered"] == 1 and counts["failed"] == 0
    archive = db_session.scalar(select(ReportArchive))
    assert archive is not None and archive.month == "2026-11"
