"""The indicator dashboard through the screens: own scope by default, figures equal to what the
orders say, nothing from outside the viewer's scope."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models.org import Station
from app.models.workorder import WorkOrder
from app.workflow.calendar import LOCAL_TZ as LOCAL
from tests.reports_helpers import october_orders

pytestmark = pytest.mark.date_sensitive


def kpi(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}" data-value="([^"]*)"', html)
    assert match, f"{element_id} not on the dashboard"
    return match.group(1)


def rate_from_orders(session, station_code: str, year_month: str) -> float:
    station = session.scalar(select(Station).where(Station.code == station_code))
    orders = session.scalars(select(WorkOrder).where(WorkOrder.station_id == station.id,
                                                     WorkOrder.resolved_at.is_not(None))).all()
    resolved = [o for o in orders if o.resolved_at.astimezone(LOCAL).strftime("%Y-%m") == year_month]
    return sum(1 for o in resolved if o.timely) / len(resolved)



def test_station_dashboard_timely_rate_equals_rate_computed_from_the_orders(db_session, login_as):
    october_orders(db_session)
    expected = rate_from_orders(db_session, "ST001", "2026-10")
    assert expected == 0.75  # 3 timely of 4 resolved in October (the September one is not counted)

    page = login_as("director1").get("/dashboard/?month=2026-10")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert float(kpi(html, "timely-rate")) == expected
    assert "75.0%" in html
    assert "城东供电所" in html and "及时率" in html and "工分排行" in html
    assert "vendor/echarts/echarts.min.js" in html and "cdn" not in html.lower()


def test_team_leader_dashboard_shows_only_the_team_figures(db_session, login_as):
    october_orders(db_session)
    leader = login_as("leader1")
    html = leader.get("/dashboard/?month=2026-10").get_data(as_text=True)
    assert "营配班" in re.search(r'id="scope-label">([^<]+)<', html).group(1)
    # ST002's 1-of-4 orders would pull the rate down to 50 %: they are not there.
    assert float(kpi(html, "timely-rate")) == 0.75
    assert int(kpi(html, "registered-count")) == 5  # ST001's October orders only
    assert int(kpi(html, "open-count")) == 1

    station2 = db_session.scalar(select(Station).where(Station.code == "ST002"))
    station1 = db_session.scalar(select(Station).where(Station.code == "ST001"))
    assert leader.get(f"/dashboard/?month=2026-10&scope=station:{station2.id}").status_code == 403
    assert leader.get(f"/dashboard/?month=2026-10&scope=station:{station1.id}").status_code == 403
    data = leader.get("/dashboard/data?month=2026-10").get_json()
    assert data["resolved"] == 4 and data["scope"]["kind"] == "team"


def test_district_manager_sees_own_figures_and_not_another_managers(db_session, login_as):
    october_orders(db_session)
    manager = login_as("manager1")
    data = manager.get("/dashboard/data?month=2026-10").get_json()
    assert data["scope"]["kind"] == "person" and data["scope"]["label"] == "李台区"
    assert data["resolved"] == 2 and data["timely_rate"] == 1.0  # manager2's late order is not theirs
    manager2_scope = manager.get("/dashboard/?scope=person:" + str(
        _staff_id(db_session, "manager2"))).status_code
    assert manager2_scope == 403


def _staff_id(session, username):
    from tests.factories import staff

    return staff(session, username).id


def test_dashboard_charts_link_to_the_filtered_order_lists(db_session, login_as):
    october_orders(db_session)
    director = login_as("director1")
    html = director.get("/dashboard/?month=2026-10").get_data(as_text=True)
    links = set(re.findall(r'"(/workorderview/list/\?[^"]*)"', html.replace("\\u0026", "&").replace("&amp;", "&")))
    channel_link = next(link for link in links if "_flt_3_channel=hotline_12345" in link)
    listed = director.get(channel_link).get_data(as_text=True)
    hotline = db_session.scalars(select(WorkOrder).where(WorkOrder.channel == "hotline_12345")).all()
    others = db_session.scalars(select(WorkOrder).where(WorkOrder.channel != "hotline_12345")).all()
    assert hotline and all(o.number in listed for o in hotline)
    assert not any(o.number in listed for o in others)

    timely_link = next(link for link in links if "_flt_0_timely=y" in link)
    listed = director.get(timely_link).get_data(as_text=True)
    late = db_session.scalars(select(WorkOrder).where(WorkOrder.timely.is_(False))).all()
    assert late and not any(o.number in listed for o in late)


def test_operator_has_no_dashboard_and_static_echarts_is_served(client, login_as):
    assert login_as("operator1").get("/dashboard/").status_code in (302, 403)
    assert login_as("admin").get("/dashboard/?month=2026-10").status_code == 200
    script = client.get("/static/vendor/echarts/echarts.min.js")
    assert script.status_code == 200 and b"echarts" in script.data[:2000]
