"""`make test`: the whole suite on each database side by side, then the date-sensitive tests
with the clock set to each of the five dates, and a verdict table as the last lines printed.

Each run is one pytest process with a database of its own (tests/conftest.py), so the runs
do not touch each other; each writes its output to `.test-runs/<run>.log`.  The passes start
together (a database pass waits on its server much of the time); the clock runs go one after
another beside them.  The end of the output names every run, its verdict, its duration and
the tests that failed, so the tail of a CI log says what went wrong where.

    python tools/test_suite.py --databases sqlite postgresql mysql --clocks first-working-day …
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

RUNS_DIR = Path(".test-runs")
# "12 passed, 3 deselected in 8.1s", framed by "=" signs unless pytest runs with -q.
SUMMARY_LINE = re.compile(r"^=*\s*(\d+ (passed|failed|errors?|skipped|deselected)|no tests ran)\b.* in [\d.]+s")
FAILURE_LINE = re.compile(r"^(FAILED|ERROR) \S+::|^ERROR \S+\.py")


@dataclass
class Run:
    name: str
    command: list[str]
    env: dict[str, str]
    returncode: int | None = None
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def log(self) -> Path:
        return RUNS_DIR / f"{self.name}.log"

    def execute(self) -> None:
        started = time.monotonic()
        with self.log.open("w", encoding="utf-8") as out:
            out.write("$ " + shlex.join(self.command) + "\n")
            out.flush()
            self.returncode = subprocess.call(self.command, env=self.env, stdout=out,
                                              stderr=subprocess.STDOUT)
        self.seconds = time.monotonic() - started
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            if FAILURE_LINE.match(line):
                self.failures.append(line)
            elif SUMMARY_LINE.match(line):
                self.summary = line.strip("= ")

    @property
    def verdict(self) -> str:
        return "ok" if self.returncode == 0 else f"FAILED (exit {self.returncode})"


def pytest_command(args: list[str], extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-rfE", "--durations=15", "-p", "no:cacheprovider",
            *args, *shlex.split(extra)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql", "mysql"])
    parser.add_argument("--clocks", nargs="*", default=[])
    parser.add_argument("--pytest-args", default="")
    options = parser.parse_args()

    RUNS_DIR.mkdir(exist_ok=True)
    for old in RUNS_DIR.glob("*.log"):
        old.unlink()
    database_runs = []
    for db in options.databases:
        # The browser tests run once, on SQLite: they test the screens, not the database.
        marks = [] if db == "sqlite" else ["-m", "not browser"]
        database_runs.append(Run(db, pytest_command(marks, options.pytest_args),
                                 dict(os.environ, GRIDCARE_TEST_DB=db)))
    clock_runs = [Run(f"clock-{clock}",
                      # The screens' date-dependence is the logic's, which the HTTP tests of the
                      # same modules cover at each moment; Chromium runs once, in the SQLite pass.
                      pytest_command(["-m", "date_sensitive and not browser", f"--clock={clock}"],
                                     options.pytest_args),
                      dict(os.environ, GRIDCARE_TEST_DB="sqlite"))
                  for clock in options.clocks]

    started = time.monotonic()
    print(f"running {len(database_runs)} database passes side by side and {len(clock_runs)} clock "
          f"runs beside them; output in {RUNS_DIR}/", flush=True)
    threads = [threading.Thread(target=run.execute) for run in database_runs]
    threads.append(threading.Thread(target=lambda: [run.execute() for run in clock_runs]))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started

    runs = database_runs + clock_runs
    for run in runs:
        print(f"\n=== {run.name}: {run.verdict} ===")
        if run.returncode != 0:
            print("".join(run.log.read_text(encoding="utf-8", errors="replace")
                          .splitlines(keepends=True)[-40:]), end="")
    print(f"\n=== verdict ({elapsed:.0f} s in all) ===")
    width = max(len(run.name) for run in runs)
    for run in runs:
        print(f"{run.name:<{width}}  {run.verdict:<18} {run.seconds:6.0f} s  {run.summary}")
        for line in run.failures[:15]:
            print(f"{'':<{width}}    {line[:160]}")
        if len(run.failures) > 15:
            print(f"{'':<{width}}    … and {len(run.failures) - 15} more in {run.log}")
    failed = [run.name for run in runs if run.returncode != 0]
    print("all runs passed" if not failed else "failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
