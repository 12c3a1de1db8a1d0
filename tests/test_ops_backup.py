"""Backup while orders are being registered, then restore into a new installation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.workorder import WorkOrder
from tests.factories import actor, grid

ROOT = Path(__file__).resolve().parent.parent
# Backup and restore are for the embedded SQLite default.
pytestmark = pytest.mark.databases("sqlite")


def _flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "gridcare", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_restore_of_a_backup_taken_under_load_has_every_acknowledged_order(app, database_url, db_session, tmp_path):
    from app.extensions import db
    from app.workflow import service

    with app.app_context():
        engine = db.engine
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        with Session(engine) as session:
            who = actor(session, "operator1")
            grid_id = grid(session, "ST001-G01").id
            while not stop.is_set():
                try:
                    order = service.register_order(session, who, channel="convenience_point",
                                                   demand_type="service", content="备份期间登记",
                                                   grid_id=grid_id)
                    session.commit()
                    with lock:
                        acknowledged.append(order.id)
                except Exception as error:  # noqa: BLE001 (reported below)
                    session.rollback()
                    errors.append(error)
                    return

    threads = [threading.Thread(target=writer) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    with lock:
        before_backup = list(acknowledged)
    env = dict(os.environ, DATABASE_URL=database_url, GRIDCARE_INSTANCE_DIR=str(tmp_path / "a"),
               DOCUMENT_DIR=str(tmp_path / "docs-a"))
    archive = tmp_path / "backup.tar.gz"
    done = _flask(["backup", "--out", str(archive)], env)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors
    assert done.returncode == 0, done.stderr[-2000:]
    assert before_backup, "no order was registered before the backup began"

    restored_db = tmp_path / "restored" / "gridcare.db"
    env_b = dict(os.environ, DATABASE_URL=f"sqlite:///{restored_db}", GRIDCARE_INSTANCE_DIR=str(tmp_path / "b"),
                 DOCUMENT_DIR=str(tmp_path / "docs-b"))
    done = _flask(["restore", str(archive)], env_b)
    assert done.returncode == 0, done.stderr[-2000:]

    check = """
import json
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.models.workorder import WorkOrder
app = create_app()
with app.app_context():
    ids = list(db.session.scalars(select(WorkOrder.id)))
client = app.test_client()
token = client.post("/api/v1/security/login", json={"username": "leader1", "password": "GridCare#2026", "provider": "db"})
listing = client.get("/api/v1/workorder/?limit=5", headers={"Authorization": "Bearer " + token.get_json()["access_token"]})
print(json.dumps({"ids": ids, "status": listing.status_code}))
"""
    run = subprocess.run([sys.executable, "-c", check], cwd=ROOT, env=env_b, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    missing = set(before_backup) - set(result["ids"])
    assert not missing, f"orders acknowledged before the backup are missing: {sorted(missing)[:10]}"
    db_session.rollback()
    assert len(db_session.scalars(select(WorkOrder.id)).all()) >= len(result["ids"])


def test_backup_refuses_a_server_database_with_a_clear_message(tmp_path):
    env = dict(os.environ, DATABASE_URL="postgresql://127.0.0.1:5432/test", GRIDCARE_INSTANCE_DIR=str(tmp_path))
    done = _flask(["backup", "--out", str(tmp_path / "x.tar.gz")], env)
    assert done.returncode != 0 and "pg_dump" in done.stderr
