"""Rules from the command line, dry runs of every domain, and the leave roster screen."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.models.points import WorkPointEntry
from app.models.rules import RuleSet, StaffLeave
from app.models.workorder import WorkOrder
from app.rules.dryrun import dry_run
from tests.conftest import csrf_from
from tests.factories import advance, make_customer, make_order, staff
from tests.rules_helpers import act, cond, rule, save


def test_escalate_command_raises_overdue_orders(app, db_session):
    save(db_session, "escalation", "超期督办", [
        rule("超期", {"all": [cond("hours_to_deadline", "less_than", 0)]}, act("raise_supervision"))])
    old = make_order(db_session, received_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
    fresh = make_order(db_session)

    preview = app.test_cli_runner().invoke(args=["gridcare", "rules", "escalate", "--dry-run"])
    assert preview.exit_code == 0 and old.number in preview.output and fresh.number not in preview.output
    db_session.rollback()
    assert db_session.get(WorkOrder, old.id).supervision_level == "none"

    result = app.test_cli_runner().invoke(args=["gridcare", "rules", "escalate"])
    assert result.exit_code == 0, result.output
    assert f"{old.number}: 超期督办/超期 → supervision none → station" in result.output
    db_session.rollback()
    assert db_session.get(WorkOrder, old.id).supervision_level == "station"
    assert db_session.get(WorkOrder, fresh.id).supervision_level == "none"


def test_seed_and_select_commands(app, db_session):
    runner = app.test_cli_runner()
    assert "rule sets added: 4" in runner.invoke(args=["gridcare", "rules", "seed"]).output
    assert "rule sets added: 0" in runner.invoke(args=["gridcare", "rules", "seed"]).output
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(RuleSet).where(RuleSet.active.is_(True))) == 4
    make_customer(db_session)
    result = runner.invoke(args=["gridcare", "rules", "select", "综合能源推广"])
    assert result.exit_code == 0 and "峰谷电价建议: 0 customers → 峰谷电价" in result.output
    missing = runner.invoke(args=["gridcare", "rules", "select", "没有这个"])
    assert missing.exit_code != 0 and "no targeting rule set" in missing.output


def test_scoring_dry_run_describes_points_and_books_none(db_session):
    save(db_session, "scoring", "工分标准", [rule("及时", {"all": [cond("timely", "is_true")]}, act("award", points=4))],
         active=False)
    order = make_order(db_session)
    advance(db_session, order, ("dispatch", "leader1", {}), ("accept", "manager1", {}),
            ("resolve", "manager1", {"resolution": "好了"}))
    rule_set = db_session.scalar(select(RuleSet))
    rows = dry_run(db_session, "scoring", rule_set_id=rule_set.id, subjects=[order.number])
    assert rows[0].fired == ["工分标准/及时"] and rows[0].outcome[0].startswith("+4.00 points")
    db_session.commit()
    assert db_session.scalar(select(func.count()).select_from(WorkPointEntry)) == 0


def test_admin_records_leave_with_stand_in_on_the_roster_screen(db_session, login_as):
    admin = login_as("admin")
    page = admin.get("/staffleaveview/add")
    assert page.status_code == 200
    manager1, manager3 = staff(db_session, "manager1"), staff(db_session, "manager3")
    today = dt.date.today()
    posted = admin.post("/staffleaveview/add", data={
        "csrf_token": csrf_from(page.get_data(as_text=True)), "staff": manager1.id, "stand_in": manager3.id,
        "starts_at": f"{today - dt.timedelta(days=1)} 08:00:00", "ends_at": f"{today + dt.timedelta(days=1)} 18:00:00",
        "reason": "培训"}, follow_redirects=False)
    assert posted.status_code == 302, posted.get_data(as_text=True)[:2000]
    db_session.rollback()
    leave = db_session.scalar(select(StaffLeave))
    assert leave.staff_id == manager1.id and leave.stand_in_id == manager3.id
    assert leave.starts_at.tzinfo is not None

    save(db_session, "routing", "默认", [rule("紧急", {"all": [cond("demand_type", "contains", "urgent")]},
                                             act("set_priority", priority="urgent"))])
    assert make_order(db_session, "ST001-G01").assignee_id == manager3.id
    assert "培训" in admin.get("/staffleaveview/list/").get_data(as_text=True)
    assert login_as("leader1").get("/staffleaveview/list/").status_code in (302, 403)


def test_targeting_dry_run_on_a_customer_names_the_campaign(db_session):
    from decimal import Decimal

    from app.models.customer import Bill

    heavy = make_customer(db_session, customer_type="residential")
    light = make_customer(db_session, customer_type="residential")
    for customer, total in ((heavy, Decimal(900)), (light, Decimal(80))):
        db_session.add(Bill(customer_id=customer.id, period="202610", total_kwh=total, peak_kwh=total / 2,
                            valley_kwh=total / 5, flat_kwh=total * Decimal("0.3"), amount_yuan=total / 2))
    db_session.commit()
    save(db_session, "targeting", "能效诊断", [rule("高用电", {"all": [cond("monthly_kwh", "greater_than", 500)]},
                                                   act("add_to_campaign", campaign="能效诊断", template="您好"))])
    rows = dry_run(db_session, "targeting", subjects=[heavy.customer_no, light.customer_no])
    assert [(r.subject_id, r.fired, r.outcome) for r in rows] == [
        (heavy.id, ["能效诊断/高用电"], ["campaign 能效诊断: 您好"]), (light.id, [], [])]
