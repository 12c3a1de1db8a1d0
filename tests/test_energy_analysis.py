"""Peak/valley analysis and saving suggestions, checked against figures computed by hand."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.models.customer import Bill, Customer
from app.models.energy import StationTariff
from app.models.org import Station
from app.seed import _last_periods, seed_customers
from tests.factories import grid, make_customer


def _bill(session, customer, period, total, valley, peak=None):
    total, valley = Decimal(total), Decimal(valley)
    peak = Decimal(peak) if peak is not None else total / 2
    session.add(Bill(customer_id=customer.id, period=period, total_kwh=total, peak_kwh=peak,
                     valley_kwh=valley, flat_kwh=total - peak - valley, sharp_kwh=Decimal(0),
                     amount_yuan=total * Decimal("0.5")))


def _grid_g01_data(session):
    a = make_customer(session, "ST001-G01", name="甲")
    b = make_customer(session, "ST001-G01", name="乙")
    c = make_customer(session, "ST001-G01", name="丙")
    e = make_customer(session, "ST001-G01", name="戊")
    d = make_customer(session, "ST001-G04", name="丁")  # manager2's grid
    _bill(session, a, "202510", 200, 50)   # 25 %
    _bill(session, a, "202609", 200, 40)   # 20 %
    _bill(session, a, "202610", 250, 75)   # 30 %   → +10 pp
    _bill(session, b, "202609", 100, 30)   # 30 %
    _bill(session, b, "202610", 120, 33)   # 27.5 % → −2.5 pp (under the threshold)
    _bill(session, c, "202609", 300, 90)   # 30 %
    _bill(session, c, "202610", 300, 60)   # 20 %   → −10 pp
    _bill(session, e, "202610", 100, 50)   # no month to compare with
    _bill(session, d, "202609", 100, 10)
    _bill(session, d, "202610", 100, 60)   # +50 pp, but not in G01
    session.commit()
    return a, b, c, d, e


def test_grid_analysis_lists_customers_whose_valley_share_moved_beyond_threshold(db_session, api_as):
    a, b, c, d, e = _grid_g01_data(db_session)
    g01 = grid(db_session, "ST001-G01")
    result = api_as("manager1").get(f"/api/v1/energy/analysis?period=202610&grid_id={g01.id}&threshold=5")
    assert result.status_code == 200, result.get_json()
    body = result.get_json()["result"]
    assert [(m["customer_no"], m["change_pp"]) for m in body["movers"]] == [
        (a.customer_no, 10.0), (c.customer_no, -10.0)]
    assert body["movers"][0]["valley_share"] == 30.0 and body["movers"][0]["base_valley_share"] == 20.0

    months = {m["period"]: m for m in body["months"]}
    # Grid valley share: 202610 (75+33+60+50)/(250+120+300+100) = 218/770 = 28.3117 %;
    # 202609 (40+30+90)/(200+100+300) = 160/600 = 26.6667 %; change +1.6450 pp → 1.65.
    assert months["202610"]["shares"]["valley"] == 28.31
    assert months["202609"]["shares"]["valley"] == 26.67
    assert months["202610"]["change_vs_previous_month"]["valley"] == 1.65
    # Peak was half of every bill: 50 % in both months, no change.
    assert months["202610"]["shares"]["peak"] == 50.0
    assert months["202610"]["change_vs_previous_month"]["peak"] == 0.0

    wider = api_as("manager1").get("/api/v1/energy/analysis?period=202610&threshold=12").get_json()["result"]
    assert wider["movers"] == []  # nobody in manager1's grids moved more than 12 pp
    assert api_as("manager2").get(f"/api/v1/energy/analysis?period=202610&grid_id={g01.id}").status_code == 403
    leader = api_as("leader1").get("/api/v1/energy/analysis?period=202610&threshold=5").get_json()["result"]
    assert [m["customer_no"] for m in leader["movers"]] == [d.customer_no, a.customer_no, c.customer_no]

    yoy = api_as("manager1").get(
        f"/api/v1/energy/analysis?period=202610&grid_id={g01.id}&threshold=4.99&compare=last_year").get_json()
    assert [(m["customer_no"], m["change_pp"]) for m in yoy["result"]["movers"]] == [(a.customer_no, 5.0)]


def test_customer_analysis_gives_shares_changes_and_saving_from_station_tariff(db_session, api_as, login_as):
    a, *_ = _grid_g01_data(db_session)
    station = db_session.scalar(select(Station).where(Station.code == "ST001"))
    db_session.add(StationTariff(station_id=station.id, customer_type="residential", sharp_price=Decimal("0.8683"),
                                 peak_price=Decimal("0.5683"), flat_price=Decimal("0.5383"),
                                 valley_price=Decimal("0.2883")))
    db_session.commit()
    manager1 = api_as("manager1")
    body = manager1.get(f"/api/v1/energy/customers/{a.id}/analysis").get_json()["result"]
    october = body["months"][-1]
    assert october["period"] == "202610" and october["shares"]["valley"] == 30.0
    assert october["change_vs_previous_month"]["valley"] == 10.0
    assert october["change_vs_last_year"]["valley"] == 5.0
    # Default shift: a tenth of last month's 125 peak kWh = 12.5 → 13 kWh; 13 × (0.5683 − 0.2883) = 3.64 yuan.
    assert body["suggestion"] == {"period": "202610", "shift_kwh": 13.0, "peak_price": 0.5683,
                                  "valley_price": 0.2883, "monthly_saving_yuan": 3.64}
    moved = manager1.get(f"/api/v1/energy/customers/{a.id}/analysis?shift_kwh=100").get_json()["result"]
    assert moved["suggestion"]["monthly_saving_yuan"] == 28.0

    page = login_as("manager1").get(f"/energy/customer/{a.id}/analysis").get_data(as_text=True)
    suggestion = page.split('id="saving-suggestion"', 1)[1].split("</div>", 1)[0]
    assert "13.0 kWh" in suggestion and "3.64" in suggestion
    grid_page = login_as("manager1").get("/energy/analysis?period=202610&threshold=5").get_data(as_text=True)
    movers = grid_page.split('id="movers"', 1)[1]
    assert a.customer_no in movers and "10.0" in movers


def test_demo_customers_with_a_valley_jump_are_exactly_the_movers(app, db_session, api_as):
    seed_customers(db_session, 30)
    db_session.commit()
    last = _last_periods(12)[-1]
    body = api_as("admin").get(f"/api/v1/energy/analysis?period={last}&threshold=5").get_json()["result"]
    # The demo data lifts the valley share of every 13th customer by 12 pp in the last month.
    expected = [f"33{n:08d}" for n in range(1, 31) if n % 13 == 0]
    assert sorted(m["customer_no"] for m in body["movers"]) == expected
    for mover in body["movers"]:
        customer = db_session.scalar(select(Customer).where(Customer.customer_no == mover["customer_no"]))
        bills = {b.period: b for b in customer.bills}
        prev = bills[_last_periods(12)[-2]]
        now = bills[last]
        by_hand = (now.valley_kwh / now.total_kwh - prev.valley_kwh / prev.total_kwh) * 100
        assert abs(Decimal(str(mover["change_pp"])) - by_hand) < Decimal("0.006")
