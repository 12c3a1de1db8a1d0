"""A sync killed part-way (SIGKILL, no chance to clean up) and run again ends with the same
database as one uninterrupted run: nothing committed is lost, nothing is doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import delete, func, select

from app.extensions import db
from app.jobs.sync import run_sync
from app.models.customer import Customer
from app.models.sync import QuarantinedRow, SyncRun
from tests.test_sync_customers import write_archive

ROOT = Path(__file__).resolve().parent.parent
ROWS = 40_000


def _cli_env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=database_url, SCHEDULER_ENABLED="0", LOG_LEVEL="WARNING",
               GRIDCARE_INSTANCE_DIR=os.environ["GRIDCARE_INSTANCE_DIR"],
               SECRET_KEY=os.environ["SECRET_KEY"])
    return env


def _sync_process(database_url: str, path: Path) -> subprocess.Popen:
    flask = str(Path(sys.executable).with_name("flask"))
    return subprocess.Popen(
        # four batches to a commit: the resume point is the last committed group, on SQLite
        # (which groups its commits by default) as on the others
        [flask, "--app", "app", "gridcare", "sync", "customers", str(path), "--batch-size", "500",
         "--commit-rows", "2000"],
        cwd=ROOT, env=_cli_env(database_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _snapshot(session) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    session.rollback()
    customers = session.execute(
        select(Customer.customer_no, Customer.name, Customer.customer_type, Customer.phone,
               Customer.address, Customer.grid_id, Customer.transformer_id, Customer.meter_no,
               Customer.contract_capacity_kva, Customer.tariff, Customer.source_updated_at)
        .order_by(Customer.customer_no)
    ).all()
    quarantine = session.execute(
        select(QuarantinedRow.row_number, QuarantinedRow.reason, QuarantinedRow.raw)
        .order_by(QuarantinedRow.row_number)
    ).all()
    return customers, quarantine


def test_sync_killed_part_way_and_run_again_equals_one_uninterrupted_run(app, database_url, db_session, tmp_path):
    path = tmp_path / "archive.csv"
    write_archive(path, ROWS)

    victim = _sync_process(database_url, path)
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and victim.poll() is None:
        db_session.rollback()
        committed = db_session.scalar(select(func.max(SyncRun.last_row))) or 0
        if committed >= 5000:
            break
        time.sleep(0.02)
    assert victim.poll() is None, "the sync finished before it could be killed: " + victim.stderr.read()
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)

    db_session.rollback()
    run = db_session.scalar(select(SyncRun))
    assert run.status == "running" and 0 < run.last_row < ROWS + 1
    assert (run.last_row - 1) % 2000 == 0, run.last_row  # a whole group of batches (rows from line 2)
    partial = db_session.scalar(select(func.count()).select_from(Customer))
    assert 0 < partial < ROWS * 0.99

    again = _sync_process(database_url, path)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert f"resumed run {run.id} after row" in out
    resumed_customers, resumed_quarantine = _snapshot(db_session)
    resumed_run = db_session.scalar(select(SyncRun))
    resumed_counts = (resumed_run.rows_read, resumed_run.inserted, resumed_run.updated,
                      resumed_run.unchanged, resumed_run.quarantined)
    assert resumed_run.status == "completed" and resumed_run.resumed_count == 1

    # The same file into an empty archive, in one go.
    for model in (QuarantinedRow, SyncRun, Customer):
        db_session.execute(delete(model))
    db_session.commit()
    with app.app_context():
        summary = run_sync(db.session, "customers", path, batch_size=500)
        db.session.remove()
    once_customers, once_quarantine = _snapshot(db_session)

    assert len(once_customers) == ROWS * 99 // 100
    assert resumed_customers == once_customers
    assert resumed_quarantine == once_quarantine
    assert resumed_counts == (summary.read, summary.inserted, summary.updated, summary.unchanged,
                              summary.quarantined) == (ROWS, ROWS * 99 // 100, 0, 0, ROWS // 100)
