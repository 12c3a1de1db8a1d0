"""Visits and box–meter anomalies, once the on-site room's tables exist: counted per scope on
the dashboard and per district manager in the report.  The tables are created here (with the
on-site room's columns) only when that room is not merged yet, and dropped afterwards."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, inspect, insert

from app.indicators import month_period, resolve_scope
from app.indicators.queries import dashboard_indicators
from app.models.base import UTCDateTime
from app.reports.data import managers
from tests.factories import actor, grid, make_customer, staff
from tests.reports_helpers import local


@pytest.fixture
def onsite_tables(app, db_session):
    engine = db_session.get_bind()
    metadata = MetaData()
    visit = Table("onsite_visit", metadata, Column("id", Integer, primary_key=True),
                  Column("customer_id", Integer), Column("grid_id", Integer), Column("station_id", Integer),
                  Column("staff_id", Integer), Column("staff_name", String(64)),
                  Column("visited_at", UTCDateTime()), Column("address_confirmed", Boolean),
                  Column("contact_confirmed", Boolean))
    anomaly = Table("onsite_meter_box_anomaly", metadata, Column("id", Integer, primary_key=True),
                    Column("grid_id", Integer), Column("station_id", Integer), Column("meter_box_no", String(32)),
                    Column("meter_no", String(32)), Column("expected", String(255)), Column("found", String(255)),
                    Column("state", String(16)), Column("registered_at", UTCDateTime()),
                    Column("registered_by_name", String(64)), Column("rectified_at", UTCDateTime()))
    created = [t for t in (visit, anomaly) if not inspect(engine).has_table(t.name)]
    for t in created:
        t.create(engine)
    yield visit, anomaly
    db_session.rollback()
    with engine.begin() as conn:
        conn.execute(visit.delete())
        conn.execute(anomaly.delete())
    for t in created:
        t.drop(engine)


def test_visits_and_anomalies_count_per_scope_and_per_manager(db_session, onsite_tables):
    visit, anomaly = onsite_tables
    customer = make_customer(db_session, "ST001-G01")
    g01, g04, st2 = grid(db_session, "ST001-G01"), grid(db_session, "ST001-G04"), grid(db_session, "ST002-G01")
    manager1, manager2 = staff(db_session, "manager1"), staff(db_session, "manager2")
    common = dict(customer_id=customer.id, address_confirmed=True, contact_confirmed=True)
    db_session.execute(insert(visit), [
        dict(grid_id=g01.id, station_id=g01.station_id, staff_id=manager1.id, staff_name="李台区",
             visited_at=local(2026, 10, 12), **common),
        dict(grid_id=g01.id, station_id=g01.station_id, staff_id=manager1.id, staff_name="李台区",
             visited_at=local(2026, 10, 13), **common),
        dict(grid_id=g04.id, station_id=g04.station_id, staff_id=manager2.id, staff_name="张台区",
             visited_at=local(2026, 9, 13), **common),  # September
        dict(grid_id=st2.id, station_id=st2.station_id, staff_id=None, staff_name="孙台区",
             visited_at=local(2026, 10, 13), **common),  # another station
    ])
    box = dict(meter_box_no="B1", meter_no="M1", expected="B1", found="B2", registered_by_name="李台区")
    open_box = dict(box, rectified_at=None)
    db_session.execute(insert(anomaly), [
        dict(grid_id=g01.id, station_id=g01.station_id, state="registered", registered_at=local(2026, 10, 2), **open_box),
        dict(grid_id=g04.id, station_id=g04.station_id, state="rectified", registered_at=local(2026, 10, 2),
             rectified_at=local(2026, 10, 20), **box),
        dict(grid_id=st2.id, station_id=st2.station_id, state="registered", registered_at=local(2026, 10, 2), **open_box),
    ])
    db_session.commit()
    db_session.info.pop("gridcare_tables", None)

    october = month_period(2026, 10)
    director = actor(db_session, "director1")
    figures = dashboard_indicators(db_session, director, resolve_scope(db_session, director), october,
                                   local(2026, 11, 2))
    assert figures["visits_made"] == 2 and figures["anomalies_open"] == 1
    rows = {row["name"]: row for row in managers(db_session, director, resolve_scope(db_session, director), october)}
    assert (rows["李台区"]["visits"], rows["李台区"]["anomalies_rectified"]) == (2, 0)
    assert (rows["张台区"]["visits"], rows["张台区"]["anomalies_rectified"]) == (0, 1)
