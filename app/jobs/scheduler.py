"""The scheduler: APScheduler 3 with its job store in the application database, run by
exactly one process at a time.

Which process runs it is decided by a lease row (``scheduler_lease``): a process takes it
with one atomic ``UPDATE … WHERE expires_at < now OR holder = me`` and renews it every
third of the lease time; a second process finds the row held, stands by, and takes over
once the first stops renewing (killed, hung, lost its database).  A process that cannot
renew in time stops its scheduler before anyone else can take over.  The run table's
unique tick key is the last line of defence against a tick run twice.

Job definitions are data (``job_definition``); the active process reconciles APScheduler's
persistent jobs with them every few seconds, so a cron edited, a job paused or a "run now"
pressed in the browser reaches the scheduler without a restart.  Jobs keep their next run
time in the store across restarts: a run missed while no scheduler was up runs once
(coalesce) on return, if it is within the job's misfire grace time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import threading
import uuid
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from app.jobs import runner
from app.models.base import utcnow
from app.models.jobs import JobDefinition, JobRun, RunOutcome, SchedulerLease
from app.workflow.calendar import LOCAL_TZ

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
RUN_DEFINITION = "app.jobs.runner:run_definition"

# The jobs every installation has; administrators may change their schedule or pause them.
DEFAULT_JOBS = [
    # name, dotted path, cron, misfire grace (s), description
    ("sla_sweep", "app.jobs.sla.sweep_job", "*/5 * * * *", 240,
     "SLA sweep: warn orders nearing their deadline, mark and escalate overdue ones"),
    ("sync_inbox", "app.jobs.sync.sync_inbox_job", "*/15 * * * *", 600,
     "Marketing-system sync of the export files waiting in the inbox folder"),
    ("recurring_tasks", "app.channels.tasks.generate_due_tasks", "10 * * * *", 3000,
     "Recurring internal tasks: occurrences of the task templates that are due"),
    ("monthly_reports", "app.reports.runs.monthly_reports_job", "0 7 * * *", 6 * 3600,
     "Monthly evaluation reports: render, archive and mail every ended month not reported yet"),
    ("escalation", "app.rules.escalation.run_escalation", "*/10 * * * *", 540,
     "Escalation rules over open orders (supervision levels, notifications)"),
    ("calendar_provisional", "app.workflow.deadlines.recompute_provisional_job", "20 * * * *", 3000,
     "Statutory calendar: recompute provisional deadlines once the year they need is entered"),
    ("calendar_watch", "app.jobs.calendar.calendar_watch_job", "0 8 * * *", 6 * 3600,
     "Statutory calendar: from 1 November, remind administrators to enter next year's holidays"),
    ("feedback_delivery", "app.channels.callbacks.delivery_job", "* * * * *", 50,
     "Feedback delivery: POST new results to each channel's callback URL, retry failed ones"),
    ("notification_delivery", "app.notifications.delivery.delivery_job", "* * * * *", 50,
     "Notification delivery: send queued mails and SMS to staff, retry failed ones"),
    ("directory_sync", "app.security.signon.directory_sync_job", "40 * * * *", 3000,
     "Directory (AUTH_METHOD=ldap): deactivate the users whose directory entry is gone"),
]


def parse_cron(expression: str) -> CronTrigger:
    """Five fields (minute hour day month weekday) or six with seconds first.  Weekdays are
    best written as names (mon-fri): APScheduler 3 counts 0 as Monday."""
    parts = expression.split()
    if len(parts) == 5:
        return CronTrigger.from_crontab(expression, timezone=LOCAL_TZ)
    if len(parts) == 6:
        second, minute, hour, day, month, weekday = parts
        return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                           day_of_week=weekday, timezone=LOCAL_TZ)
    raise ValueError(f"a cron expression has 5 or 6 fields, not {len(parts)}: {expression!r}")


def ensure_default_jobs(session: Session) -> int:
    """Add the default job definitions that are missing (never touches existing ones)."""
    have = set(session.scalars(select(JobDefinition.name)))
    added = 0
    for name, func, cron, grace, description in DEFAULT_JOBS:
        if name not in have:
            session.add(JobDefinition(name=name, func=func, cron=cron, misfire_grace_seconds=grace,
                                      description=description, paused=False))
            added += 1
    if added:
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
    return added


class _ScheduledCall:
    """A job seen through a proxy that hands the scheduled time to the job function, so a
    run knows which tick it is (APScheduler 3 does not pass it)."""

    def __init__(self, job: Any, run_time: dt.datetime) -> None:
        self._job = job
        self._run_time = run_time

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    @property
    def kwargs(self) -> dict[str, Any]:
        kwargs = dict(self._job.kwargs)
        kwargs.setdefault("scheduled_at", self._run_time)
        return kwargs

    def __str__(self) -> str:
        return str(self._job)


class TickExecutor(ThreadPoolExecutor):
    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        # coalesce=True: only the latest of several missed run times is run.
        super()._do_submit_job(_ScheduledCall(job, run_times[-1]), run_times[-1:])


class LeasedScheduler:
    """One process's claim on the scheduler: standby until it holds the lease."""

    def __init__(self, app: Any, holder: str | None = None) -> None:
        from app.extensions import db

        self.app = app
        with app.app_context():
            self.engine = db.engine
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease_seconds = float(app.config.get("SCHEDULER_LEASE_SECONDS", 30))
        self.interval = max(0.2, self.lease_seconds / 3)
        self.reconcile_every = float(app.config.get("SCHEDULER_RECONCILE_SECONDS", 5))
        self.scheduler: BackgroundScheduler | None = None
        self.renewed_at: dt.datetime | None = None
        self.stopping = threading.Event()
        self._last_reconcile = 0.0

    # --- the lease ---------------------------------------------------------------------
    def try_acquire(self, session: Session, now: dt.datetime) -> bool:
        if session.get(SchedulerLease, LEASE_NAME) is None:
            session.add(SchedulerLease(name=LEASE_NAME, holder=None, expires_at=now - dt.timedelta(seconds=1)))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
        values: dict[str, Any] = {"holder": self.holder, "heartbeat_at": now,
                                  "expires_at": now + dt.timedelta(seconds=self.lease_seconds)}
        if self.scheduler is None:
            values["acquired_at"] = now
        result = session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME,
                   or_(SchedulerLease.expires_at < now, SchedulerLease.holder == self.holder))
            .values(**values)
        )
        session.commit()
        return result.rowcount == 1

    def release(self) -> None:
        try:
            with Session(self.engine) as session:
                session.execute(update(SchedulerLease).where(
                    SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder
                ).values(expires_at=utcnow() - dt.timedelta(seconds=1)))
                session.commit()
        except SQLAlchemyError:
            log.exception("could not release the scheduler lease")

    # --- active / standby --------------------------------------------------------------
    def activate(self) -> None:
        runner.bind_app(self.app)
        with Session(self.engine) as session:
            ensure_default_jobs(session)
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=self.engine, tablename="apscheduler_jobs"),
                       "memory": MemoryJobStore()},
            executors={"default": TickExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
            timezone=LOCAL_TZ,
        )
        # The moment this process starts scheduling: every run time due before it was missed.
        with Session(self.engine) as session:
            session.execute(update(SchedulerLease).where(
                SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder
            ).values(acquired_at=utcnow()))
            # Runs left "running" by a process that lost the lease (killed, hung) never finish.
            abandoned = session.execute(update(JobRun).where(
                JobRun.outcome == RunOutcome.RUNNING.value, JobRun.holder != runner.HOLDER
            ).values(outcome=RunOutcome.FAILED.value,
                     error="abandoned: the scheduler process running it stopped")).rowcount
            session.commit()
        if abandoned:
            log.warning("%s run(s) left running by a stopped scheduler marked failed", abandoned)
        self.scheduler.add_listener(self._tick_not_run, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        self.scheduler.start()
        log.info("scheduler %s is active", self.holder)
        self.reconcile(force=True)

    def _tick_not_run(self, event: JobEvent) -> None:
        """A scheduled tick that will not run still leaves its row in the run history."""
        if event.jobstore != "default":
            return  # "run now" requests are recorded by the runner
        if event.code == EVENT_JOB_MAX_INSTANCES:
            outcome, reason = RunOutcome.SKIPPED.value, "skipped: the previous run was still going"
            times = list(getattr(event, "scheduled_run_times", None) or [])
        else:
            outcome, reason = RunOutcome.MISSED.value, "missed: the scheduler came back after the grace time"
            times = [event.scheduled_run_time]
        for scheduled_at in times:
            log.warning("job %s tick %s not run (%s)", event.job_id, scheduled_at, outcome)
            try:
                runner.record_tick_not_run(self.engine, event.job_id, scheduled_at, outcome, reason)
            except SQLAlchemyError:
                log.exception("could not record the tick not run")

    def deactivate(self, reason: str) -> None:
        if self.scheduler is not None:
            log.warning("scheduler %s stops: %s", self.holder, reason)
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:
                log.exception("scheduler shutdown")
            self.scheduler = None

    def reconcile(self, force: bool = False) -> None:
        """Make APScheduler's jobs match the job definitions; start requested "run now"s."""
        import time

        if self.scheduler is None:
            return
        if not force and time.monotonic() - self._last_reconcile < self.reconcile_every:
            return
        self._last_reconcile = time.monotonic()
        scheduler = self.scheduler
        # Read the definitions in a transaction of their own: the job store writes through
        # other connections, and on SQLite a reader that later writes would be refused.
        with Session(self.engine, expire_on_commit=False) as session:
            definitions = list(session.scalars(select(JobDefinition)))
            session.commit()
        jobs = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
        for definition in definitions:
            signature = f"{definition.func}|{definition.cron}|{definition.misfire_grace_seconds}"
            job = jobs.pop(definition.name, None)
            if job is None or job.kwargs.get("signature") != signature:
                try:
                    trigger = parse_cron(definition.cron)
                except ValueError as error:
                    log.error("job %s has a bad schedule: %s", definition.name, error)
                    continue
                scheduler.add_job(
                    RUN_DEFINITION, trigger=trigger, args=[definition.name],
                    kwargs={"signature": signature}, id=definition.name, name=definition.name,
                    replace_existing=True, jobstore="default", coalesce=True, max_instances=1,
                    misfire_grace_time=definition.misfire_grace_seconds,
                )
                job = scheduler.get_job(definition.name, jobstore="default")
            if job is None:
                continue
            if definition.paused and job.next_run_time is not None:
                scheduler.pause_job(definition.name, jobstore="default")
            elif not definition.paused and job.next_run_time is None:
                scheduler.resume_job(definition.name, jobstore="default")
            if definition.run_requested_at is not None:
                self._start_requested_run(definition)
        for orphan in jobs:
            scheduler.remove_job(orphan, jobstore="default")

    def _start_requested_run(self, definition: JobDefinition) -> None:
        """Claim the "run now" request (only one process can clear it) and run it at once."""
        assert self.scheduler is not None
        requested = definition.run_requested_at
        with Session(self.engine) as session:
            claimed = session.execute(update(JobDefinition).where(
                JobDefinition.id == definition.id, JobDefinition.run_requested_at == requested
            ).values(run_requested_at=None)).rowcount
            session.commit()
        if claimed and requested is not None:
            self.scheduler.add_job(
                RUN_DEFINITION, trigger="date", run_date=utcnow(), args=[definition.name],
                kwargs={"manual": f"{requested:%Y-%m-%dT%H:%M:%S.%f}"},
                jobstore="memory", misfire_grace_time=3600,
                id=f"{definition.name}-manual-{uuid.uuid4().hex[:8]}",
            )

    def step(self) -> None:
        """One heartbeat: take or renew the lease, then act accordingly."""
        now = utcnow()
        try:
            with Session(self.engine) as session:
                held = self.try_acquire(session, now)
        except SQLAlchemyError:
            log.exception("scheduler lease check failed")
            held = False
            # Without a renewal we must stop before the lease runs out under us.
            if self.renewed_at is not None and (utcnow() - self.renewed_at).total_seconds() < self.lease_seconds * 0.8:
                return
        if held:
            self.renewed_at = now
            if self.scheduler is None:
                self.activate()
            else:
                try:
                    self.reconcile()
                except SQLAlchemyError:
                    log.exception("reconcile failed")
        elif self.scheduler is not None:
            self.deactivate("the lease is held by another process")

    def loop(self) -> None:
        log.info("scheduler %s started (lease %ss); standing by until it holds the lease",
                 self.holder, self.lease_seconds)
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:
                log.exception("scheduler step failed")
            self.stopping.wait(self.interval)
        self.deactivate("stopping")
        self.release()

    def stop(self) -> None:
        self.stopping.set()

    @property
    def active(self) -> bool:
        return self.scheduler is not None


def run_forever(app: Any) -> None:
    """`flask --app app gridcare scheduler`: the scheduler as its own process."""
    leased = LeasedScheduler(app)

    def _stop(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping the scheduler", signum)
        leased.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    leased.loop()


_in_process: LeasedScheduler | None = None


def start_in_process(app: Any) -> LeasedScheduler:
    """The embedded default (`python run.py`): the same leased scheduler in a daemon thread.
    Never call this from web workers of a production server."""
    global _in_process
    if _in_process is None:
        _in_process = LeasedScheduler(app)
        thread = threading.Thread(target=_in_process.loop, name="gridcare-scheduler", daemon=True)
        thread.start()
    return _in_process
