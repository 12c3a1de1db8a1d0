"""A transformer without demand readings has an unknown capacity (未知): never its full
allowed capacity, never the best choice, never offered for a new connection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.models.energy import DemandReading
from tests.factories import grid


def test_transformer_without_readings_is_unknown_and_never_offered(app, db_session, api_as, login_as):
    g01 = grid(db_session, "ST001-G01")
    measured, silent = g01.transformers[0], g01.transformers[1]
    ratio = Decimal(app.config["CAPACITY_LOAD_RATIO"])
    # the measured transformer is nearly full: full capacity on the silent one would look better
    peak = Decimal(measured.rated_kva) * ratio - 5
    db_session.add(DemandReading(transformer_id=measured.id, demand_kva=peak, source="metering",
                                 measured_at=dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)))
    db_session.commit()
    manager1 = api_as("manager1")

    unknown = manager1.get(f"/api/v1/energy/capacity/transformers/{silent.id}").get_json()["result"]
    assert (unknown["capacity_known"], unknown["available_kva"], unknown["peak_demand_kva"]) == (False, None, None)
    refused = manager1.get(f"/api/v1/energy/capacity/transformers/{silent.id}?request_kva=1")
    assert refused.status_code == 409 and "unknown" in refused.get_json()["message"]

    body = manager1.get(f"/api/v1/energy/capacity/grids/{g01.id}?request_kva=2").get_json()["result"]
    assert body["best_transformer"] == measured.code
    assert body["fitting_transformers"] == [measured.code]
    assert body["unknown_transformers"] == [silent.code]
    assert body["available_kva"] == 5.0  # the silent transformer adds nothing
    too_big = manager1.get(f"/api/v1/energy/capacity/grids/{g01.id}?request_kva=6")
    assert too_big.status_code == 409 and "at most 5.0 kVA" in too_big.get_json()["message"]

    page = login_as("manager1").get("/energy/capacity").get_data(as_text=True)
    row = page.split(f"<tr><td>{silent.code} ", 1)[1].split("</tr>", 1)[0]
    assert f'class="capacity-unknown" data-transformer="{silent.code}">未知<' in row and "无负荷数据" in row
    by_grid = page.split('id="capacity-by-grid"', 1)[1].split("</table>", 1)[0]
    assert "<td>ST001-G01</td><td>2</td>" in by_grid and "<td>5.0 <small" in by_grid and "（1 台未知）" in by_grid


def test_grid_where_no_transformer_has_readings_is_unknown(db_session, api_as):
    g02 = grid(db_session, "ST001-G02")
    body = api_as("manager1").get(f"/api/v1/energy/capacity/grids/{g02.id}").get_json()["result"]
    assert body["available_kva"] is None and body["best_transformer"] is None
    assert sorted(body["unknown_transformers"]) == sorted(t.code for t in g02.transformers)
    refused = api_as("manager1").get(f"/api/v1/energy/capacity/grids/{g02.id}?request_kva=1")
    assert refused.status_code == 409 and "unknown" in refused.get_json()["message"]
