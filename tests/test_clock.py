"""The one clock (app/clock.py): business time is read there and nowhere else, so moving it
(time-machine, ``pytest --clock``) moves the whole application."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import time_machine

from app import clock

APP = Path(__file__).resolve().parent.parent / "app"
# Readings of the wall clock that bypass app/clock.py (time.monotonic for durations is fine).
WALL_CLOCK = re.compile(r"\bdatetime\.(?:now|utcnow|today)\(|\bdate\.today\(|\btime\.time\(")


def test_no_module_but_the_clock_reads_the_wall_clock():
    offenders = [f"{path.relative_to(APP.parent)}:{number}: {line.strip()}"
                 for path in sorted(APP.rglob("*.py")) if path.name != "clock.py" or path.parent != APP
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
                 if WALL_CLOCK.search(line)]
    assert offenders == [], "read the time from app.clock instead:\n" + "\n".join(offenders)


def test_the_clock_follows_time_machine_and_counts_the_station_date():
    # 23:30 UTC on 31 December is already 1 January in Shanghai.
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone.utc), tick=False):
        assert clock.now() == dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.timezone.utc)
        assert clock.today() == dt.date(2027, 1, 1)
        assert clock.local_now().utcoffset() == dt.timedelta(hours=8)
