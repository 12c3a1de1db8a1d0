"""Runs one job definition and records it in the run history.

Every run first inserts its ``JobRun`` row with a unique tick key (job name + scheduled
time, or the moment of a "run now" request) in a transaction of its own: if that key is
taken, the tick has already been run — by this process or another — and the run stops.
A job is ``fn(session, now) -> dict | list | None`` named by its dotted path, and ``now`` is
the scheduled time of the tick it runs for (a late run computes as if on time); a dict becomes
the run's counts (a list, its length).  A job that cannot be imported (a module not
installed yet) or raises is a failed run with its error, never a crash of the scheduler.

Every tick of a schedule leaves one row: a run, or a ``skipped`` / ``missed`` row recorded by
the scheduler (``record_tick_not_run``).  Ticks that fell while no scheduler was up are run
once (coalesce); that run's counts say how many earlier ticks it stands for
(``coalesced_ticks``), so the history accounts for every tick.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import traceback
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.utils import ImportStringError, import_string

from app.models.base import utcnow
from app.models.jobs import JobDefinition, JobRun, RunOutcome

log = logging.getLogger(__name__)

_app: Any = None
HOLDER = f"{socket.gethostname()}:{os.getpid()}"


def bind_app(app: Any) -> None:
    """The scheduler process tells the runner which application its jobs run in."""
    global _app
    _app = app


def tick_key(name: str, scheduled_at: dt.datetime | None, manual: str | None = None) -> str:
    if manual:
        return f"{name}@manual:{manual}"
    assert scheduled_at is not None
    return f"{name}@{scheduled_at.astimezone(dt.timezone.utc):%Y-%m-%dT%H:%M:%S}"


def run_definition(name: str, scheduled_at: dt.datetime | None = None, manual: str | None = None,
                   signature: str | None = None) -> None:
    """The function APScheduler calls (by its textual reference ``app.jobs.runner:run_definition``)."""
    if _app is None:
        log.error("job %s fired but no application is bound to the runner", name)
        return
    from app.extensions import db

    with _app.app_context():
        session = Session(db.engine)
        try:
            execute(session, name, scheduled_at=scheduled_at or utcnow(), manual=manual,
                    config=_app.config)
        finally:
            session.close()


def execute(session: Session, name: str, *, scheduled_at: dt.datetime, manual: str | None = None,
            holder: str = HOLDER, config: Any = None) -> JobRun | None:
    definition = session.scalar(select(JobDefinition).where(JobDefinition.name == name))
    if definition is None:
        log.warning("job %s fired but has no definition any more", name)
        return None
    func_path, cron = definition.func, definition.cron
    session.commit()  # end the read: on SQLite a reader that then writes may be refused
    key = tick_key(name, scheduled_at, manual)
    run = JobRun(job_name=name, tick_key=key, trigger="manual" if manual else "schedule",
                 scheduled_at=scheduled_at, started_at=utcnow(), outcome=RunOutcome.RUNNING.value,
                 holder=holder[:128])
    session.add(run)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        log.warning("duplicate tick %s skipped: it has already been run", key)
        return None
    run_id = run.id
    coalesced = 0 if manual else coalesced_ticks(session, name, cron, scheduled_at)
    outcome, counts, error = RunOutcome.SUCCESS.value, None, None
    try:
        func = import_string(func_path)
    except (ImportError, ImportStringError, AttributeError, ValueError) as failure:
        outcome, error = RunOutcome.FAILED.value, f"cannot import {func_path}: {failure}"
        log.error("job %s: %s", name, error)
    else:
        try:
            # The job computes with its tick's time, never the wall clock.
            result = func(session, scheduled_at)
            session.commit()
            if isinstance(result, dict):
                counts = {str(k): v for k, v in result.items() if isinstance(v, (int, float, str))}
            elif isinstance(result, (list, tuple)):
                counts = {"items": len(result)}  # e.g. the work orders a task template issued
        except Exception:
            session.rollback()
            outcome, error = RunOutcome.FAILED.value, traceback.format_exc()[-4000:]
            log.exception("job %s failed", name)
    if coalesced:
        counts = {**(counts or {}), "coalesced_ticks": coalesced}
    session.execute(update(JobRun).where(JobRun.id == run_id).values(
        outcome=outcome, counts=counts, error=error, finished_at=utcnow()))
    session.commit()
    return session.get(JobRun, run_id)


def coalesced_ticks(session: Session, name: str, cron: str | None, scheduled_at: dt.datetime,
                    limit: int = 100_000) -> int:
    """How many ticks of the schedule fell strictly between the job's previous tick on record
    and this one: the ticks this run stands for (missed while no scheduler was up)."""
    from app.jobs.scheduler import parse_cron  # the scheduler imports this module

    previous = session.scalar(select(JobRun.scheduled_at).where(
        JobRun.job_name == name, JobRun.trigger == "schedule", JobRun.scheduled_at < scheduled_at
    ).order_by(JobRun.scheduled_at.desc()).limit(1))
    session.commit()
    if previous is None or cron is None:
        return 0
    try:
        trigger = parse_cron(cron)
    except ValueError:
        return 0
    count, fire = 0, trigger.get_next_fire_time(None, previous + dt.timedelta(microseconds=1))
    while fire is not None and fire < scheduled_at and count < limit:
        count += 1
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
    return count


def record_tick_not_run(engine: Any, name: str, scheduled_at: dt.datetime, outcome: str,
                        reason: str, holder: str = HOLDER) -> None:
    """A tick the scheduler did not run (skipped or missed) still leaves its row."""
    now = utcnow()
    with Session(engine) as session:
        session.add(JobRun(job_name=name, tick_key=tick_key(name, scheduled_at), trigger="schedule",
                           scheduled_at=scheduled_at, started_at=now, finished_at=now,
                           outcome=outcome, error=reason, holder=holder[:128]))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
