"""A push campaign selects its customers by a targeting rule set (issue 4 with issue 3)."""

from __future__ import annotations

from sqlalchemy import select

from app.models.customer import EnergyIntention
from app.models.energy import PushMessage
from tests.factories import make_customer
from tests.rules_helpers import act, cond, rule, save


def test_campaign_reaches_exactly_what_its_targeting_rule_set_selects(app, db_session, api_as):
    pv = db_session.scalar(select(EnergyIntention).where(EnergyIntention.code == "pv"))
    chosen = [make_customer(db_session, "ST001-G01", name="光伏甲", intentions=[pv]),
              make_customer(db_session, "ST001-G06", name="光伏乙", intentions=[pv])]
    make_customer(db_session, "ST001-G01", name="商户光伏", intentions=[pv], customer_type="non_residential")
    make_customer(db_session, "ST001-G02", name="无意向")
    make_customer(db_session, "ST002-G01", name="外所光伏", intentions=[pv])
    save(db_session, "targeting", "光伏推广", [rule("有光伏意向", {"all": [
        cond("energy_intentions", "shares_at_least_one_element_with", ["pv"])]},
        act("add_to_campaign", campaign="屋顶光伏", template="{name}您好"))])

    director = api_as("director1")
    refused = director.post("/api/v1/energy/campaigns", json={
        "name": "x", "criteria": {"rule_set": "没有这个规则集"}, "template": "{name}您好"})
    assert refused.status_code == 400 and refused.get_json()["field"] == "rule_set"
    created = director.post("/api/v1/energy/campaigns", json={
        "name": "屋顶光伏推广", "criteria": {"rule_set": "光伏推广", "customer_type": "residential"},
        "template": "{name}您好，屋顶光伏可并网。"})
    assert created.status_code == 201, created.get_json()
    campaign_id = created.get_json()["result"]["id"]
    result = director.post(f"/api/v1/energy/campaigns/{campaign_id}/run").get_json()["result"]
    assert result["created"] == 2 and result["failed"] == 0

    db_session.rollback()
    reached = set(db_session.scalars(select(PushMessage.customer_id).where(PushMessage.campaign_id == campaign_id)))
    assert reached == {c.id for c in chosen}
