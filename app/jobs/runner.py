"""Runs one job definition and records it in the run history.

Every run first inserts its ``JobRun`` row with a unique tick key (job name + scheduled
time, or the moment of a "run now" request) in a transaction of its own: if that key is
taken, the tick has already been run — by this process or another — and the run stops.
A job is ``fn(session, now) -> dict | list | None`` named by its dotted path; a dict becomes
the run's counts (a list, its length).  A job that cannot be imported (a module not
installed yet) or raises is a failed run with its error, never a crash of the scheduler.
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
    func_path = definition.func
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
    outcome, counts, error = RunOutcome.SUCCESS.value, None, None
    try:
        func = import_string(func_path)
    except (ImportError, ImportStringError, AttributeError, ValueError) as failure:
        outcome, error = RunOutcome.FAILED.value, f"cannot import {func_path}: {failure}"
        log.error("job %s: %s", name, error)
    else:
        try:
            result = func(session, utcnow())
            session.commit()
            if isinstance(result, dict):
                counts = {str(k): v for k, v in result.items() if isinstance(v, (int, float, str))}
            elif isinstance(result, (list, tuple)):
                counts = {"items": len(result)}  # e.g. the work orders a task template issued
        except Exception:
            session.rollback()
            outcome, error = RunOutcome.FAILED.value, traceback.format_exc()[-4000:]
            log.exception("job %s failed", name)
    session.execute(update(JobRun).where(JobRun.id == run_id).values(
        outcome=outcome, counts=counts, error=error, finished_at=utcnow()))
    session.commit()
    return session.get(JobRun, run_id)
