"""Helpers of the sign-on tests: GridCare started as its own process with a sign-on method of
the environment (tests/signon_server.py), a form sign-in with requests, the server's database."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{url} did not come up:\n" + log.read_text()[-4000:])
            time.sleep(0.5)


def start_gridcare(folder: Path, port: int, env: dict[str, str]) -> Iterator[dict[str, Any]]:
    """GridCare on 127.0.0.1:port, its own SQLite database under ``folder``."""
    database = folder / "gridcare.db"
    environment = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", SCHEDULER_ENABLED="false",
                       GRIDCARE_INSTANCE_DIR=str(folder / "instance"), **env)
    log = folder / "gridcare.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "tests.signon_server", str(port)], cwd=ROOT,
                                   env=environment, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/login/", process, log)
        yield {"base": base, "database": f"sqlite:///{database}", "log": log}
    finally:
        process.terminate()
        process.wait(timeout=20)


def form_sign_in(base: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Sign in through the login form; returns the browser-like session and where it landed."""
    browser = requests.Session()
    page = browser.get(f"{base}/login/", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    landed = browser.post(f"{base}/login/", data={"username": username, "password": password,
                                                  "csrf_token": token.group(1)}, timeout=30)
    return browser, landed


def role_names(database_url: str, username: str) -> list[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(text(
                "SELECT r.name FROM ab_role r JOIN ab_user_role ur ON ur.role_id = r.id "
                "JOIN ab_user u ON u.id = ur.user_id WHERE u.username = :name"), {"name": username}).scalars())
    finally:
        engine.dispose()
