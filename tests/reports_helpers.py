"""Orders of a given month, moved through the workflow service at chosen times."""

from __future__ import annotations

import datetime as dt

from app.workflow.calendar import LOCAL_TZ
from tests.factories import advance, make_order

STATION_STAFF = {
    "ST001": {"operator": "operator1", "leader": "leader1", "G01": "manager1", "G02": "manager1",
              "G03": "manager1", "G04": "manager2", "G05": "manager2", "G06": "manager2"},
    "ST002": {"operator": "operator2", "leader": "leader2", "G01": "st2_manager1", "G02": "st2_manager1",
              "G03": "st2_manager1", "G04": "st2_manager2", "G05": "st2_manager2", "G06": "st2_manager2"},
}


def local(year: int, month: int, day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)


def resolved_order(session, grid_code: str, received: dt.datetime, resolved: dt.datetime, *,
                   channel: str = "convenience_point", demand_type: str = "service", score: int | None = None,
                   satisfied: bool | None = None):
    station, grid = grid_code.split("-")
    staff = STATION_STAFF[station]
    order = make_order(session, grid_code, channel=channel, demand_type=demand_type, received_at=received,
                       by=staff["operator"])
    advance(session, order, ("dispatch", staff["leader"], {}), ("accept", staff[grid], {}),
            now=received + dt.timedelta(minutes=10))
    order = advance(session, order, ("resolve", staff[grid], {"resolution": "已处理"}), now=resolved)
    if satisfied is not None:
        order = advance(session, order, ("callback", staff["operator"], {"satisfied": satisfied}),
                        now=resolved + dt.timedelta(hours=1))
    if score is not None:
        order = advance(session, order, ("verify", staff["leader"], {}),
                        ("evaluate", staff["leader"], {"score": score}), now=resolved + dt.timedelta(hours=2))
    return order


def october_orders(session):
    """ST001: 3 timely + 1 late resolved in October 2026 (manager1 and manager2), one resolved
    in September, one still open; ST002: 1 timely + 3 late (a different rate)."""
    made = {
        "st1_timely": [
            resolved_order(session, "ST001-G01", local(2026, 10, 9), local(2026, 10, 9, 15), score=95,
                           satisfied=True, channel="hotline_12345", demand_type="complaint"),
            resolved_order(session, "ST001-G02", local(2026, 10, 12), local(2026, 10, 13), score=85),
            resolved_order(session, "ST001-G04", local(2026, 10, 20), local(2026, 10, 21), score=72),
        ],
        "st1_late": [resolved_order(session, "ST001-G05", local(2026, 10, 9), local(2026, 10, 28),
                                    channel="hotline_12345")],
        "st1_september": [resolved_order(session, "ST001-G01", local(2026, 9, 14), local(2026, 9, 15))],
        "st1_open": [make_order(session, "ST001-G03", received_at=local(2026, 10, 26))],
        "st2_timely": [resolved_order(session, "ST002-G01", local(2026, 10, 9), local(2026, 10, 9, 11))],
        "st2_late": [resolved_order(session, "ST002-G04", local(2026, 10, 9), local(2026, 10, 27 + i))
                     for i in range(3)],
    }
    return made
