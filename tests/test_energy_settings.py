"""The tariff table and demand readings behind the energy services: demo data seeded once,
configured on screens by the station."""

from __future__ import annotations

from sqlalchemy import func, select

from app.energy.seed import seed_energy
from app.models.energy import DemandReading, StationTariff
from tests.conftest import csrf_from


def test_energy_demo_data_is_repeatable(db_session):
    first = seed_energy(db_session)
    db_session.commit()
    assert first["tariffs"] == 8 and first["campaigns"] == 2 and first["readings"] > 0
    assert seed_energy(db_session) == {"tariffs": 0, "readings": 0, "campaigns": 0}
    db_session.commit()


def test_station_manager_edits_the_tariff_table_district_manager_cannot(db_session, login_as):
    seed_energy(db_session)
    db_session.commit()
    director = login_as("director1")
    listed = director.get("/stationtariffview/list/").get_data(as_text=True)
    assert "0.2883" in listed and "城西供电所" not in listed  # own station only
    tariff = db_session.scalar(select(StationTariff).join(StationTariff.station)
                               .where(StationTariff.customer_type == "residential")
                               .where(StationTariff.station.has(code="ST001")))
    form = director.get(f"/stationtariffview/edit/{tariff.id}")
    assert form.status_code == 200
    director.post(f"/stationtariffview/edit/{tariff.id}", data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "station": str(tariff.station_id),
        "customer_type": "residential", "sharp_price": "0.5683", "peak_price": "0.6000",
        "flat_price": "0.5383", "valley_price": "0.3000"})
    db_session.rollback()
    assert str(db_session.get(StationTariff, tariff.id).valley_price).startswith("0.3")
    assert login_as("manager1").get("/stationtariffview/list/").status_code in (302, 403)

    readings = login_as("leader1").get("/demandreadingview/list/").get_data(as_text=True)
    assert "ST001-G0" in readings and "ST002-G0" not in readings  # the leader's team only
    assert db_session.scalar(select(func.count()).select_from(DemandReading)) > 0
