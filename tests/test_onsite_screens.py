"""Every on-site and energy screen renders for every role that holds it, in the viewer's scope."""

from __future__ import annotations

import pytest

from app.security.access import role_allows
from tests.factories import make_customer

SCREENS = [
    ("/onsite/customers?q=测试", "can_list", "CustomerServiceView"),
    ("/visitview/list/", "can_list", "VisitView"),
    ("/servicerecordview/list/", "can_list", "ServiceRecordView"),
    ("/safetyrecordview/list/", "can_list", "SafetyRecordView"),
    ("/equipmentrecordview/list/", "can_list", "EquipmentRecordView"),
    ("/equipmentrecordview/add", "can_add", "EquipmentRecordView"),
    ("/meterboxanomalyview/list/", "can_list", "MeterBoxAnomalyView"),
    ("/energy/analysis", "can_list", "EnergyServicesView"),
    ("/energy/customers", "can_list", "EnergyServicesView"),
    ("/energy/capacity", "can_list", "EnergyServicesView"),
    ("/pushcampaignview/list/", "can_list", "PushCampaignView"),
    ("/pushmessageview/list/", "can_list", "PushMessageView"),
    ("/stationtariffview/list/", "can_list", "StationTariffView"),
    ("/demandreadingview/list/", "can_list", "DemandReadingView"),
]
USERS = {"director1": "StationManager", "leader1": "TeamLeader", "manager1": "DistrictManager",
         "operator1": "Operator"}


@pytest.mark.parametrize("username", sorted(USERS))
def test_screens_render_for_roles_that_hold_them_and_refuse_the_others(db_session, login_as, username):
    mine = make_customer(db_session, "ST001-G01", name="测试甲")
    other = make_customer(db_session, "ST002-G01", name="测试乙")
    client = login_as(username)
    for url, permission, view in SCREENS:
        response = client.get(url)
        if role_allows(USERS[username], permission, view):
            assert response.status_code == 200, (username, url)
            assert "ST002-G0" not in response.get_data(as_text=True), (username, url)
        else:
            assert response.status_code in (302, 403), (username, url, response.status_code)
    if role_allows(USERS[username], "can_list", "CustomerServiceView"):
        found = client.get("/onsite/customers?q=测试").get_data(as_text=True)
        assert mine.customer_no in found and other.customer_no not in found
