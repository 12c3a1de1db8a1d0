"""`python run.py` (what `make run` starts): a fresh instance migrates, seeds the demo data,
serves the login page, and the demo accounts sign in."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The embedded default is SQLite: it runs once, on the SQLite pass.
sqlite_pass_only = pytest.mark.databases("sqlite")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sign_in(base: str, username: str, password: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login/", timeout=10).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token})
    landed = opener.open(f"{base}/login/", data=data.encode(), timeout=30)
    return landed.geturl()


@sqlite_pass_only
def test_run_py_serves_login_and_demo_accounts_sign_in(tmp_path):
    port = _free_port()
    env = dict(os.environ, GRIDCARE_INSTANCE_DIR=str(tmp_path / "instance"), PORT=str(port),
               DEMO_CUSTOMERS="120", DEMO_ORDERS="40", SCHEDULER_ENABLED="false",
               DEMO_PASSWORD="Demo#Pass1")
    env.pop("DATABASE_URL", None)
    env.pop("SECRET_KEY", None)
    log = open(tmp_path / "run.log", "w")
    process = subprocess.Popen([sys.executable, "run.py"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                page = urllib.request.urlopen(f"{base}/login/", timeout=5).read().decode()
                break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    raise AssertionError((tmp_path / "run.log").read_text()[-3000:])
                time.sleep(0.5)
        assert "csrf_token" in page and "password" in page
        # Each role lands on its own start page (app/views/index.py), past the form.
        starts = {"admin": "/workorderview/list/", "director1": "/dashboard/", "leader1": "/workorderview/list/",
                  "manager1": "/workorderview/list/?_flt_0_assignee=", "manager2": "/workorderview/list/?_flt_0_assignee=",
                  "operator1": "/workorderview/list/"}
        for username, start in starts.items():
            landed = _sign_in(base, username, "Demo#Pass1")
            assert landed.startswith(base + start), (username, landed)
        assert (tmp_path / "instance" / "gridcare.db").exists()
        assert (tmp_path / "instance" / "secret_key").exists()
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_seed_demo_is_repeatable_without_duplicates(app):
    from sqlalchemy import func, select

    from app.extensions import db
    from app.models.customer import Bill, Customer
    from app.models.workorder import Channel, WorkOrder

    runner = app.test_cli_runner()
    first = runner.invoke(args=["gridcare", "seed-demo", "--customers", "40", "--orders", "12"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = [db.session.scalar(select(func.count()).select_from(m)) for m in (Customer, Bill, WorkOrder)]
    second = runner.invoke(args=["gridcare", "seed-demo", "--customers", "40", "--orders", "12"])
    assert second.exit_code == 0 and "customers added: 0, orders added: 0" in second.output
    with app.app_context():
        again = [db.session.scalar(select(func.count()).select_from(m)) for m in (Customer, Bill, WorkOrder)]
        states = set(db.session.scalars(select(WorkOrder.state)))
        channels = set(db.session.scalars(select(WorkOrder.channel)))
    assert counts == again and counts[0] == 40 and counts[1] == 40 * 12 and counts[2] == 12
    assert states == {"registered", "dispatched", "accepted", "resolved", "verified", "evaluated"}
    assert channels == {channel.value for channel in Channel}  # 12 orders, one of each channel
