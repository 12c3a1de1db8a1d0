"""Recurring internal tasks through the scheduler: a weekly task template produces exactly one
occurrence for the week across a scheduler failover and a restart — none missing, none
doubled.  The templates are the channels' (``app.channels.tasks``)."""

from __future__ import annotations

import signal
import time

import pytest
from sqlalchemy import func, select

from tests.test_jobs_scheduler import LEASE, _scheduler_process, _stop, _wait_for

# Scheduler processes are tested on PostgreSQL.
pytestmark = pytest.mark.databases("postgresql")


def test_weekly_template_gets_one_occurrence_across_failover_and_restart(app, database_url, db_session, tmp_path):
    from app.jobs.scheduler import ensure_default_jobs
    from app.models.base import utcnow
    from app.models.channel import TaskOccurrence, TaskTemplate
    from app.models.jobs import JobDefinition, JobRun
    from app.models.org import Station
    from app.models.workorder import WorkOrder
    from tests.factories import staff

    manager = staff(db_session, "manager1")
    db_session.add(TaskTemplate(title="台区周巡视", kind="patrol", content="巡视台区设备", recurrence="weekly",
                                station_id=db_session.scalar(select(Station.id).where(Station.code == "ST001")),
                                team_id=manager.team_id, assignee_id=manager.id, deadline_working_days=2))
    ensure_default_jobs(db_session)
    job = db_session.scalar(select(JobDefinition).where(JobDefinition.name == "recurring_tasks"))
    job.cron, job.misfire_grace_seconds = "*/2 * * * * *", 60
    for other in db_session.scalars(select(JobDefinition).where(JobDefinition.name != "recurring_tasks")):
        other.paused = True
    db_session.commit()

    def runs() -> list:
        db_session.rollback()
        return list(db_session.scalars(select(JobRun).where(JobRun.job_name == "recurring_tasks",
                                                            JobRun.finished_at.is_not(None))))

    one = _scheduler_process(database_url, tmp_path / "one.log")
    two = _scheduler_process(database_url, tmp_path / "two.log")
    three = None
    try:
        assert _wait_for(lambda: len(runs()) >= 2, 30)
        from app.models.jobs import SchedulerLease

        db_session.rollback()
        active_pid = int(db_session.get(SchedulerLease, "scheduler").holder.split(":")[1])
        active, standby = (one, two) if active_pid == one.pid else (two, one)
        active.send_signal(signal.SIGKILL)  # failover
        active.wait(5)
        failed_over = utcnow()
        assert _wait_for(lambda: sum(r.started_at > failed_over for r in runs()) >= 2, 30)
        _stop(standby)  # restart: nobody runs for a while, then a fresh process
        time.sleep(LEASE + 2)
        restarted = utcnow()
        three = _scheduler_process(database_url, tmp_path / "three.log")
        assert _wait_for(lambda: sum(r.started_at > restarted for r in runs()) >= 2, 30)
    finally:
        _stop(*(p for p in (one, two, three) if p is not None))

    done = runs()
    assert done and all(r.outcome == "success" for r in done), [r.error for r in done if r.error][:1]
    assert len({r.holder for r in done}) == 3
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(TaskOccurrence)) == 1
    assert db_session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.channel == "task")) == 1
    assert sum(r.counts.get("items", 0) for r in done if r.counts) == 1
