"""Routing rules decide who gets a new order, with leave, stand-ins and team turns."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import delete, select

from app.models.org import Position, StaffProfile, Team
from app.models.rules import RuleFiring, StaffLeave
from app.models.workorder import WorkOrder
from app.workflow import calendar
from tests.factories import make_order, staff
from tests.rules_helpers import HOTLINE_POWER_CUT, MONDAY_10, act, cond, rule, save


def test_hotline_power_cut_complaint_goes_to_station_manager_within_one_working_day(db_session):
    save(db_session, "routing", "投诉升级", [HOTLINE_POWER_CUT])

    matching = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                          content="小区昨晚停电至今未恢复", received_at=MONDAY_10)
    other = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                       content="电费账单金额有误", received_at=MONDAY_10)

    assert matching.assignee_id == staff(db_session, "director1").id
    assert matching.state == "dispatched"
    assert matching.deadline == calendar.add_working_days(MONDAY_10, 1)
    assert matching.supervision_level == "station"
    assert other.assignee_id == staff(db_session, "manager1").id
    # No rule set its limit: a complaint is replied to within 7 working days (clock targets).
    assert other.deadline == calendar.add_working_days(MONDAY_10, 7)
    fired = db_session.scalars(select(RuleFiring.rule_name).where(RuleFiring.subject_id == matching.id)).all()
    assert fired == ["12345停电投诉"]
    assert not db_session.scalars(select(RuleFiring).where(RuleFiring.subject_id == other.id)).all()


def test_without_active_routing_rules_orders_wait_for_dispatch(db_session):
    save(db_session, "routing", "停用的规则", [HOTLINE_POWER_CUT], active=False)
    order = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                       content="停电")
    assert order.state == "registered" and order.assignee_id is None


def test_orders_of_manager_on_leave_go_to_the_stand_in(db_session):
    save(db_session, "routing", "紧急优先", [
        rule("紧急", {"all": [cond("demand_type", "contains", "urgent")]}, act("set_priority", priority="urgent")),
    ])
    manager1, manager3 = staff(db_session, "manager1"), staff(db_session, "manager3")
    db_session.add(StaffLeave(staff_id=manager1.id, stand_in_id=manager3.id, reason="年休假",
                              starts_at=MONDAY_10 - dt.timedelta(days=1), ends_at=MONDAY_10 + dt.timedelta(days=2)))
    db_session.commit()

    during = make_order(db_session, "ST001-G02", demand_type="urgent", content="线路断线",
                        received_at=MONDAY_10)
    after = make_order(db_session, "ST001-G02", received_at=MONDAY_10 + dt.timedelta(days=3))
    elsewhere = make_order(db_session, "ST001-G04", received_at=MONDAY_10)

    assert during.assignee_id == manager3.id and during.priority == "urgent"
    assert after.assignee_id == manager1.id
    assert elsewhere.assignee_id == staff(db_session, "manager2").id


def test_named_person_off_duty_is_skipped_and_order_waits(db_session):
    save(db_session, "routing", "指定人员", [
        rule("咨询给张台区", {"all": [cond("demand_type", "contains", "consultation")]},
             act("assign_person", staff="manager2")),
    ])
    manager2 = staff(db_session, "manager2")
    manager2.on_duty = False
    db_session.commit()
    order = make_order(db_session, "ST001-G01", demand_type="consultation", content="咨询峰谷电价")
    assert order.state == "registered" and order.assignee_id is None


@pytest.fixture
def three_member_team(app, db_session):
    """A team ST001-T99 with three district managers, removed again after the test."""
    from app.extensions import appbuilder, db

    names = ["rr_dm1", "rr_dm2", "rr_dm3"]
    with app.app_context():
        station = db.session.scalar(select(Team).where(Team.code == "ST001-T01")).station_id
        team = Team(code="ST001-T99", name="轮派测试班", station_id=station)
        db.session.add(team)
        db.session.flush()
        role = appbuilder.sm.find_role("DistrictManager")
        for i, username in enumerate(names, 1):
            user = appbuilder.sm.add_user(username, "轮", f"派{i}", f"{username}@gridcare.example", role,
                                          password="GridCare#2026")
            db.session.add(StaffProfile(user_id=user.id, name=f"轮派{i}", station_id=station, team_id=team.id,
                                        position=Position.DISTRICT_MANAGER.value))
        db.session.commit()
        team_id = team.id
    yield "ST001-T99"
    with app.app_context():
        from flask_appbuilder.security.sqla.models import User

        members = db.session.scalars(select(StaffProfile).where(StaffProfile.team_id == team_id)).all()
        ids = [m.id for m in members]
        db.session.execute(delete(WorkOrder).where(WorkOrder.assignee_id.in_(ids)))
        for member in members:
            user = db.session.get(User, member.user_id)
            db.session.delete(member)
            db.session.flush()
            db.session.delete(user)
        db.session.execute(delete(Team).where(Team.id == team_id))
        db.session.commit()


def test_round_robin_spreads_thirty_orders_evenly_over_three_members(db_session, three_member_team):
    save(db_session, "routing", "轮派", [
        rule("服务请求轮派", {"all": [cond("demand_type", "contains", "service")]},
             act("assign_team_round_robin", team=three_member_team)),
    ])
    orders = [make_order(db_session, "ST001-G01", received_at=MONDAY_10 + dt.timedelta(minutes=i))
              for i in range(30)]
    counts = Counter(db_session.get(StaffProfile, o.assignee_id).name for o in orders)
    assert counts == {"轮派1": 10, "轮派2": 10, "轮派3": 10}
    # consecutive orders go to different people
    assert orders[0].assignee_id != orders[1].assignee_id != orders[2].assignee_id


def test_least_loaded_member_gets_the_next_order(db_session, three_member_team):
    save(db_session, "routing", "最少负荷", [
        rule("负荷均衡", {"all": [cond("demand_type", "contains", "service")]},
             act("assign_team_least_loaded", team=three_member_team)),
    ])
    orders = [make_order(db_session, "ST001-G01") for _ in range(6)]
    counts = Counter(o.assignee_id for o in orders)
    assert sorted(counts.values()) == [2, 2, 2]


def test_repeat_caller_is_flagged_sensitive_with_high_priority(db_session):
    save(db_session, "routing", "重复来电", [
        rule("7天内重复来电", {"all": [cond("same_phone_orders_7_days", "greater_than_or_equal_to", 2)]},
             act("flag_sensitive"), act("set_priority", priority="high"), act("set_deadline_hours", hours=8)),
    ])
    first = [make_order(db_session, phone="13900001111", received_at=MONDAY_10 + dt.timedelta(hours=i))
             for i in range(3)]
    assert [o.sensitive for o in first] == [False, False, True]
    assert first[2].priority == "high"
    assert first[2].deadline == calendar.add_working_hours(first[2].received_at, 8)


def test_night_and_weekend_orders_of_sensitive_customers(db_session):
    from app.models.customer import CustomerTag
    from app.workflow.calendar import LOCAL_TZ
    from tests.factories import make_customer

    save(db_session, "routing", "夜间与周末", [
        rule("周末夜间", {"all": [cond("working_day", "is_false"),
                                 {"any": [cond("hour_of_day", "greater_than_or_equal_to", 22),
                                          cond("hour_of_day", "less_than", 7)]}]},
             act("set_priority", priority="high")),
        rule("敏感客户", {"all": [cond("customer_tags", "shares_at_least_one_element_with", ["sensitive"]),
                                 cond("customer_type", "contains", "residential")]},
             act("flag_sensitive")),
    ])
    sensitive = make_customer(db_session, "ST001-G05")
    sensitive.tags = [db_session.scalar(select(CustomerTag).where(CustomerTag.code == "sensitive"))]
    db_session.commit()
    saturday_night = dt.datetime(2026, 12, 5, 23, 30, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)
    monday_night = dt.datetime(2026, 11, 30, 23, 30, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)

    weekend = make_order(db_session, "ST001-G05", received_at=saturday_night, customer_no=sensitive.customer_no)
    weekday = make_order(db_session, "ST001-G05", received_at=monday_night)
    assert (weekend.priority, weekend.sensitive) == ("high", True)
    assert (weekday.priority, weekday.sensitive) == ("normal", False)
    assert weekend.assignee_id == staff(db_session, "manager2").id
