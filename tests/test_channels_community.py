"""Love-supermarket community points, the public request form, and internal tasks."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.channels import community, tasks
from app.models.channel import (
    CommunityPointEntry,
    CommunityResident,
    LoveSupermarket,
    TaskOccurrence,
    TaskTemplate,
)
from app.models.points import WorkPointEntry
from app.models.workorder import WorkOrder
from app.workflow.errors import IllegalTransition, InvalidInput
from tests.conftest import csrf_from
from tests.factories import actor, advance, grid, make_customer, staff


def make_resident(db_session, name="社区居民老张") -> CommunityResident:
    g = grid(db_session, "ST001-G01")
    market = LoveSupermarket(name="城东1号爱心超市", station_id=g.station_id, grid_id=g.id,
                             address="城东社区", latitude=Decimal("30.27"), longitude=Decimal("120.15"))
    db_session.add(market)
    db_session.flush()
    resident = CommunityResident(supermarket_id=market.id, name=name, phone="13655556666", balance=0)
    db_session.add(resident)
    db_session.commit()
    return resident


# --- community points --------------------------------------------------------------------
def test_redemption_larger_than_the_balance_is_refused_and_the_balance_is_unchanged(db_session):
    resident = make_resident(db_session)
    who = actor(db_session, "operator1")
    community.earn(db_session, who, resident.id, 30, "报告树枝搭碰线路隐患")
    db_session.commit()
    with pytest.raises(IllegalTransition):
        community.redeem(db_session, who, resident.id, 31, "兑换食用油一桶")
    db_session.rollback()
    db_session.refresh(resident)
    assert resident.balance == 30
    assert db_session.scalar(select(func.count()).select_from(CommunityPointEntry)) == 1


def test_every_entry_has_a_reason_and_the_running_balance(db_session):
    resident = make_resident(db_session)
    who = actor(db_session, "operator1")
    community.earn(db_session, who, resident.id, 20, "在爱心超市值班半天", kind="volunteering")
    community.redeem(db_session, who, resident.id, 15, "兑换大米5斤")
    db_session.commit()
    entries = db_session.scalars(select(CommunityPointEntry).order_by(CommunityPointEntry.id)).all()
    assert [(e.points, e.balance_after, e.reason) for e in entries] == [
        (20, 20, "在爱心超市值班半天"), (-15, 5, "兑换大米5斤")]
    with pytest.raises(InvalidInput):
        community.earn(db_session, who, resident.id, 5, "  ")
    with pytest.raises(InvalidInput):
        community.redeem(db_session, who, resident.id, -5, "负数")


def test_the_database_refuses_a_negative_balance_even_past_the_service(db_session):
    from sqlalchemy.exc import IntegrityError, OperationalError

    resident = make_resident(db_session)
    resident.balance = -1
    with pytest.raises((IntegrityError, OperationalError)):
        db_session.commit()
    db_session.rollback()


def test_redemption_over_the_balance_is_refused_on_the_screen(login_as, db_session):
    resident = make_resident(db_session)
    community.earn(db_session, actor(db_session, "operator1"), resident.id, 10, "报告隐患")
    db_session.commit()
    operator = login_as("operator1")
    url = f"/communityresidentview/points/{resident.id}"
    token = csrf_from(operator.get(url).get_data(as_text=True))
    page = operator.post(url, data={"csrf_token": token, "kind": "redemption", "points": "50",
                                    "reason": "兑换电饭煲"}, follow_redirects=True)
    html = page.get_data(as_text=True)
    assert "cannot be redeemed" in html or "不能兑换" in html
    assert re.search(r'id="balance">10<', html)


# --- the public non-fault request form ------------------------------------------------------
def _public_post(client, **fields):
    page = client.get("/public/request")
    assert page.status_code == 200
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "contact_name": "孙女士",
            "phone": "13577778888", "customer_no": "", "address": "城东花园3幢",
            "station": "ST001", "content": "新房装修，想请师傅上门看看线路容量", "website": ""}
    data.update(fields)
    return client.post("/public/request", data=data)


def _reset_rate_limits(app):
    from app.extensions import appbuilder

    with app.app_context():
        appbuilder.sm.limiter.reset()


def test_customer_requests_a_non_fault_service_without_signing_in(app, client, db_session):
    _reset_rate_limits(app)
    response = _public_post(client)
    assert response.status_code == 200 and 'id="request-received"' in response.get_data(as_text=True)
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder))
    assert order.channel == "online_nonfault" and order.station.code == "ST001"
    assert order.phone == "13577778888"


def test_known_customer_number_routes_the_public_request_to_its_grid(app, client, db_session):
    _reset_rate_limits(app)
    customer = make_customer(db_session, "ST001-G04")
    _public_post(client, customer_no=customer.customer_no)
    db_session.rollback()
    assert db_session.scalar(select(WorkOrder)).grid.code == "ST001-G04"


def test_honeypot_filled_by_a_bot_writes_nothing(app, client, db_session):
    _reset_rate_limits(app)
    response = _public_post(client, website="http://spam.example")
    assert response.status_code == 200
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_public_form_checks_the_phone(app, client, db_session):
    _reset_rate_limits(app)
    response = _public_post(client, phone="12")
    assert response.status_code == 200 and "has-error" in response.get_data(as_text=True)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_public_form_is_rate_limited(app, client, db_session):
    _reset_rate_limits(app)
    statuses = [_public_post(client, content=f"请求第{i}次上门服务").status_code for i in range(7)]
    _reset_rate_limits(app)
    assert statuses[:5] == [200] * 5 and statuses[-1] == 429
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == 5


# --- internal tasks ----------------------------------------------------------------------------
def test_leader_creates_a_weekly_patrol_for_manager1_that_appears_in_manager1_orders(login_as, api_as, db_session):
    leader = login_as("leader1")
    page = leader.get("/tasktemplateview/add")
    manager1 = staff(db_session, "manager1")
    response = leader.post("/tasktemplateview/add", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "title": "每周台区巡视",
        "kind": "patrol", "content": "巡视G01-G03台区变压器及低压线路", "recurrence": "weekly",
        "assignee": manager1.id, "team": "", "grid": "", "deadline_working_days": "3",
        "work_points": "5", "starts_on": ""}, follow_redirects=True)
    assert response.status_code == 200
    db_session.rollback()
    template = db_session.scalar(select(TaskTemplate))
    assert template is not None and template.recurrence == "weekly"
    occurrence = db_session.scalar(select(TaskOccurrence))
    assert occurrence.work_points == Decimal("5")

    orders = api_as("manager1").get("/api/v1/workorder/", query_string={"channel": "task"}).get_json()["result"]
    db_session.rollback()
    assert len(orders) == 1
    assert orders[0]["state"] == "dispatched" and orders[0]["assignee"] == manager1.name
    assert orders[0]["deadline"] is not None
    order = db_session.get(WorkOrder, orders[0]["id"])
    assert tasks.work_points_of(db_session, order.id) == Decimal("5")
    # the manager completes it like any other order
    advance(db_session, order, ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "巡视完成，无异常"}))
    assert order.state == "resolved"
    # …and completing it (the team leader verifies) earns the task's work points, once
    advance(db_session, order, ("verify", "leader1", {}))
    ledger = db_session.scalars(select(WorkPointEntry).where(WorkPointEntry.order_id == order.id,
                                                             WorkPointEntry.source_type == "task")).all()
    assert [(e.staff_id, e.points) for e in ledger] == [(manager1.id, Decimal("5"))]
    assert "每周台区巡视" in ledger[0].reason


def test_each_period_of_a_repeating_task_is_generated_exactly_once(db_session):
    template = TaskTemplate(title="每日抄表核对", kind="meter_check", content="核对异常电表",
                            recurrence="daily", station_id=grid(db_session, "ST001-G01").station_id,
                            assignee_id=staff(db_session, "manager2").id, deadline_working_days=1,
                            work_points=Decimal("2"))
    db_session.add(template)
    db_session.commit()
    monday = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.timezone.utc)
    assert len(tasks.generate_due_tasks(db_session, monday)) == 1
    assert tasks.generate_due_tasks(db_session, monday + dt.timedelta(hours=3)) == []
    assert len(tasks.generate_due_tasks(db_session, monday + dt.timedelta(days=1))) == 1
    db_session.commit()
    keys = db_session.scalars(select(TaskOccurrence.period_key).order_by(TaskOccurrence.id)).all()
    assert keys == ["2026-11-30", "2026-12-01"]
    assert db_session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.channel == "task")) == 2


def test_period_keys_of_weekly_and_monthly_tasks():
    at = dt.datetime(2026, 11, 29, 20, 0, tzinfo=dt.timezone.utc)  # Monday 04:00 in Beijing
    assert tasks.period_key("weekly", at) == "2026-W49"
    assert tasks.period_key("monthly", at) == "2026-11"
    assert tasks.period_key("daily", at) == "2026-11-30"


def test_district_manager_cannot_set_tasks(login_as):
    assert login_as("manager1").get("/tasktemplateview/add").status_code in (302, 403)


def test_channel_demo_data_is_repeatable(db_session):
    from app.channels.seed import seed_channels
    from app.models.channel import DutyShift, ServicePoint

    seed_channels(db_session)
    counts = [db_session.scalar(select(func.count()).select_from(m))
              for m in (ServicePoint, DutyShift, LoveSupermarket, CommunityResident, TaskTemplate)]
    seed_channels(db_session)
    again = [db_session.scalar(select(func.count()).select_from(m))
             for m in (ServicePoint, DutyShift, LoveSupermarket, CommunityResident, TaskTemplate)]
    assert counts == again and all(counts)


def test_the_database_refuses_a_second_occurrence_of_one_period(db_session):
    from sqlalchemy.exc import IntegrityError

    template = TaskTemplate(title="每月欠费催缴", kind="arrears_reminder", content="催缴欠费用户",
                            recurrence="monthly", station_id=grid(db_session, "ST001-G01").station_id,
                            assignee_id=staff(db_session, "manager1").id, deadline_working_days=5,
                            work_points=Decimal("3"))
    db_session.add(template)
    db_session.commit()
    db_session.add_all([TaskOccurrence(template_id=template.id, period_key="2026-11"),
                        TaskOccurrence(template_id=template.id, period_key="2026-11")])
    with pytest.raises(IntegrityError):
        db_session.commit()
    db_session.rollback()


def test_generate_tasks_command_issues_the_current_period_once(app, db_session):
    template = TaskTemplate(title="每周安全检查", kind="safety_check", content="检查配电房",
                            recurrence="weekly", station_id=grid(db_session, "ST001-G01").station_id,
                            assignee_id=staff(db_session, "manager1").id, deadline_working_days=2,
                            work_points=Decimal("4"))
    db_session.add(template)
    db_session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["gridcare", "generate-tasks"])
    second = runner.invoke(args=["gridcare", "generate-tasks"])
    assert first.exit_code == 0 and "task orders created: 1" in first.output
    assert "task orders created: 0" in second.output


# SQLite has one writer at a time: there is no concurrent redemption to race.
@pytest.mark.databases("postgresql", "mysql")
def test_two_tills_redeeming_the_last_points_at_once_cannot_overdraw(app, db_session):
    import threading

    from sqlalchemy.orm import Session

    resident = make_resident(db_session)
    community.earn(db_session, None, resident.id, 10, "报告隐患")
    db_session.commit()
    engine = db_session.get_bind()
    first, second = Session(engine), Session(engine)
    outcome: dict[str, object] = {}

    community.redeem(first, None, resident.id, 10, "兑换大米")  # holds the row until commit

    def other_till() -> None:
        try:
            community.redeem(second, None, resident.id, 10, "兑换食用油")
            second.commit()
            outcome["second"] = "redeemed"
        except IllegalTransition:
            second.rollback()
            outcome["second"] = "refused"

    thread = threading.Thread(target=other_till)
    thread.start()
    thread.join(timeout=0.5)
    first.commit()
    thread.join(timeout=30)
    first.close()
    second.close()
    db_session.rollback()  # a fresh snapshot (REPEATABLE READ on MariaDB)
    assert outcome["second"] == "refused"
    assert db_session.get(CommunityResident, resident.id).balance == 0


def test_completed_task_puts_its_work_points_on_the_handlers_ledger_once(db_session):
    from app.models.points import WorkPointEntry

    template = TaskTemplate(title="每周台区巡视", kind="patrol", content="巡视", recurrence="weekly",
                            station_id=grid(db_session, "ST001-G01").station_id,
                            assignee_id=staff(db_session, "manager1").id, deadline_working_days=3,
                            work_points=Decimal("5"))
    db_session.add(template)
    db_session.commit()
    order = tasks.generate_due_tasks(db_session)[0]
    db_session.commit()
    advance(db_session, order, ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "巡视完毕"}),
            ("verify", "leader1", {}))
    tasks.award_task_points(db_session, order)
    tasks.award_task_points(db_session, order)
    db_session.commit()
    entries = db_session.scalars(select(WorkPointEntry)).all()
    assert [(e.staff_id, e.points, e.order_id) for e in entries] == [
        (staff(db_session, "manager1").id, Decimal("5.00"), order.id)]
