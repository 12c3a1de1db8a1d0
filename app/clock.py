"""The one clock: every reading of the current time in GridCare goes through here.

Production reads the system clock.  Tests move it with time-machine (``time_machine.travel``),
which moves ``datetime.now`` for the whole process, so the code under test, its threads and
the test itself agree on "now".  Nothing else in ``app/`` may call ``datetime.now()``,
``date.today()`` or ``time.time()`` for a business time: a date-sensitive test
(``pytest -m date_sensitive --clock=…``) would then pass today and fail on 1 January.

Jobs do not read this clock for their business time: they are handed the scheduled time of
the tick they stand for (see ``app/jobs/runner.py``).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

__all__ = ["LOCAL_TZ", "now", "local_now", "today"]


def now() -> dt.datetime:
    """The current moment, timezone-aware, in UTC (stored as such everywhere)."""
    return dt.datetime.now(dt.timezone.utc)


def local_now() -> dt.datetime:
    """The current moment in the station's time (Asia/Shanghai), for display and dates."""
    return now().astimezone(LOCAL_TZ)


def today() -> dt.date:
    """Today's date in the station's time zone (never the server's local zone)."""
    return local_now().date()
