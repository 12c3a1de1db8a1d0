"""Administrators see and control every scheduled job in the browser: schedules edited and
checked, "run now" and pause reaching the running scheduler, the history of each run."""

from __future__ import annotations

import time

from sqlalchemy import select

from app.jobs.scheduler import LeasedScheduler, ensure_default_jobs
from app.models.jobs import JobDefinition, JobRun
from tests.conftest import csrf_from


def _definition(session, name: str = "sla_sweep") -> JobDefinition:  # type: ignore[no-untyped-def]
    session.rollback()
    return session.scalar(select(JobDefinition).where(JobDefinition.name == name))


def _edit(client, job: JobDefinition, **changes: str):  # type: ignore[no-untyped-def]
    page = client.get(f"/jobdefinitionview/edit/{job.id}")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "name": job.name,
            "description": job.description or "", "func": job.func, "cron": job.cron,
            "misfire_grace_seconds": str(job.misfire_grace_seconds)}
    data.update(changes)
    return client.post(f"/jobdefinitionview/edit/{job.id}", data=data, follow_redirects=True)


def test_admin_edits_a_schedule_and_a_bad_cron_is_refused(app, db_session, login_as):
    ensure_default_jobs(db_session)
    admin = login_as("admin")
    listing = admin.get("/jobdefinitionview/list/").get_data(as_text=True)
    assert "sla_sweep" in listing and "recurring_tasks" in listing and 'id="scheduler-status"' in listing

    refused = _edit(admin, _definition(db_session), cron="61 * * * *")
    assert "Not a valid cron expression" in refused.get_data(as_text=True) or \
        "不是有效的 cron 表达式" in refused.get_data(as_text=True)
    assert _definition(db_session).cron == "*/5 * * * *"

    saved = _edit(admin, _definition(db_session), cron="*/10 * * * *", misfire_grace_seconds="120")
    assert saved.status_code == 200
    job = _definition(db_session)
    assert (job.cron, job.misfire_grace_seconds) == ("*/10 * * * *", 120)


def test_run_now_and_pause_from_the_browser_reach_the_running_scheduler(app, db_session, login_as):
    ensure_default_jobs(db_session)
    admin = login_as("admin")
    job = _definition(db_session)
    page = admin.get(f"/jobdefinitionview/show/{job.id}").get_data(as_text=True)
    requested = admin.post(f"/jobdefinitionview/run/{job.id}", data={"csrf_token": csrf_from(page)})
    assert requested.status_code == 302
    assert _definition(db_session).run_requested_at is not None

    scheduler = LeasedScheduler(app, holder="test:1:screens")
    try:
        scheduler.step()  # takes the lease, starts APScheduler, reconciles, starts the run
        assert scheduler.active
        deadline = time.monotonic() + 15
        manual = None
        while time.monotonic() < deadline and manual is None:
            db_session.rollback()
            manual = db_session.scalar(select(JobRun).where(JobRun.trigger == "manual",
                                                            JobRun.finished_at.is_not(None)))
            time.sleep(0.1)
        assert manual is not None and manual.outcome == "success" and manual.job_name == "sla_sweep"
        assert _definition(db_session).run_requested_at is None
        assert scheduler.scheduler.get_job("sla_sweep").next_run_time is not None

        page = admin.get(f"/jobdefinitionview/show/{job.id}").get_data(as_text=True)
        assert 'class="job-run" data-outcome="success"' in page
        admin.post(f"/jobdefinitionview/pause/{job.id}", data={"csrf_token": csrf_from(page), "paused": "1"})
        assert _definition(db_session).paused is True
        scheduler.reconcile(force=True)
        assert scheduler.scheduler.get_job("sla_sweep").next_run_time is None
        # A cron edited in the browser replaces the scheduled job's trigger.
        _edit(admin, _definition(db_session), cron="*/7 * * * *")
        scheduler.reconcile(force=True)
        assert "*/7" in str(scheduler.scheduler.get_job("sla_sweep").trigger)
    finally:
        scheduler.deactivate("test over")
        scheduler.release()


def test_only_administrators_open_the_scheduling_screens(app, db_session, login_as):
    ensure_default_jobs(db_session)
    for username in ("leader1", "director1", "manager1"):
        client = login_as(username)
        for url in ("/jobdefinitionview/list/", "/jobrunview/list/", "/quarantinedrowview/list/"):
            assert client.get(url).status_code in (302, 403), (username, url)
