"""Available capacity: rated kVA × allowed load ratio − highest recorded demand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from app.models.energy import DemandReading
from tests.factories import grid


def _readings(session, transformer, *values):
    base = dt.datetime(2026, 7, 1, tzinfo=dt.timezone.utc)
    for i, value in enumerate(values):
        session.add(DemandReading(transformer_id=transformer.id, measured_at=base + dt.timedelta(days=i),
                                  demand_kva=Decimal(value), source="metering"))
    session.commit()


def test_transformer_capacity_matches_rated_times_ratio_minus_peak_and_refuses_above(app, db_session, api_as, login_as):
    g01 = grid(db_session, "ST001-G01")
    transformer = g01.transformers[0]
    _readings(db_session, transformer, "120.0", "250.5", "180.2")
    ratio = Decimal(app.config["CAPACITY_LOAD_RATIO"])
    expected = Decimal(transformer.rated_kva) * ratio - Decimal("250.5")

    manager1 = api_as("manager1")
    body = manager1.get(f"/api/v1/energy/capacity/transformers/{transformer.id}").get_json()["result"]
    assert Decimal(str(body["available_kva"])) == expected
    assert body["peak_demand_kva"] == 250.5 and body["load_ratio"] == float(ratio)

    fits = manager1.get(f"/api/v1/energy/capacity/transformers/{transformer.id}?request_kva={expected}")
    assert fits.status_code == 200 and fits.get_json()["result"]["fits"] is True
    refused = manager1.get(f"/api/v1/energy/capacity/transformers/{transformer.id}?request_kva={expected + 1}")
    assert refused.status_code == 409
    assert f"only {float(expected)} kVA available" in refused.get_json()["message"]

    page = login_as("manager1").get(f"/energy/capacity?transformer_id={transformer.id}&request_kva={expected + 1}")
    html = page.get_data(as_text=True)
    assert 'id="capacity-refusal"' in html and str(float(expected)) in html
    by_grid = html.split('id="capacity-by-grid"', 1)[1].split("</table>", 1)[0]
    other = g01.transformers[1]
    assert f"<td>ST001-G01</td><td>2</td><td>{float(transformer.rated_kva + other.rated_kva)}</td>" in by_grid
    # the other transformer has no readings: its capacity is unknown, not counted in the grid's
    assert f"<td>{float(expected)} <small" in by_grid and "（1 台未知）" in by_grid
    assert api_as("manager2").get(f"/api/v1/energy/capacity/transformers/{transformer.id}").status_code == 403


def test_grid_capacity_names_the_transformers_that_can_take_a_new_connection(app, db_session, api_as):
    g02 = grid(db_session, "ST001-G02")
    ratio = Decimal(app.config["CAPACITY_LOAD_RATIO"])
    for transformer in g02.transformers:
        _readings(db_session, transformer, str(Decimal(transformer.rated_kva) * ratio - 10))
    best = max(float(Decimal(t.rated_kva) * ratio - (Decimal(t.rated_kva) * ratio - 10)) for t in g02.transformers)
    manager1 = api_as("manager1")
    body = manager1.get(f"/api/v1/energy/capacity/grids/{g02.id}?request_kva=10").get_json()["result"]
    assert sorted(body["fitting_transformers"]) == sorted(t.code for t in g02.transformers)
    assert body["available_kva"] == 10.0 * len(g02.transformers)
    refused = manager1.get(f"/api/v1/energy/capacity/grids/{g02.id}?request_kva=10.5")
    assert refused.status_code == 409 and f"at most {best} kVA" in refused.get_json()["message"]
    assert manager1.get(f"/api/v1/energy/capacity/grids/{g02.id}?request_kva=-3").status_code == 400
