"""Work points follow the scoring rules; escalation rules raise supervision of troubled orders."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models.notification import Notification
from app.models.points import WorkPointEntry
from app.models.workorder import WorkOrder, WorkOrderEvent
from app.rules.escalation import run_escalation
from tests.factories import advance, make_order, staff
from tests.rules_helpers import act, cond, rule, save

pytestmark = pytest.mark.date_sensitive

SCORING = [
    rule("及时办结", {"all": [cond("timely", "is_true")]}, act("award", points=5)),
    rule("投诉加成", {"all": [cond("demand_type", "contains", "complaint")]}, act("multiply", factor=1.5)),
    rule("低分扣分", {"all": [cond("score", "less_than", 60)]}, act("deduct", points=3)),
]


def _to_evaluation(session, order, score):
    return advance(session, order,
                   ("dispatch", "leader1", {"assignee": "manager1"}),
                   ("accept", "manager1", {}),
                   ("resolve", "manager1", {"resolution": "已恢复供电"}),
                   ("verify", "leader1", {}),
                   ("evaluate", "leader1", {"score": score}))


def test_evaluated_timely_order_earns_the_points_its_rules_say(db_session):
    save(db_session, "scoring", "工分标准", SCORING)
    order = _to_evaluation(db_session, make_order(db_session, demand_type="complaint", content="停电投诉"), 95)

    entries = db_session.scalars(select(WorkPointEntry).where(WorkPointEntry.order_id == order.id)
                                 .order_by(WorkPointEntry.id)).all()
    # one entry for the evaluation, naming every rule that fired and its share
    assert [(e.rule_set, e.rule_name, e.points) for e in entries] == [
        ("工分标准", "及时办结、投诉加成", Decimal("7.50"))]
    assert [(line["rule"], line["points"]) for line in entries[0].lines] == [("及时办结", 5.0), ("投诉加成", 2.5)]
    assert {e.staff_id for e in entries} == {staff(db_session, "manager1").id}
    assert all(order.number in e.reason for e in entries)


def test_low_score_deducts_points_and_no_rules_means_no_points(db_session):
    plain = _to_evaluation(db_session, make_order(db_session), 50)
    assert not db_session.scalars(select(WorkPointEntry).where(WorkPointEntry.order_id == plain.id)).all()

    save(db_session, "scoring", "工分标准", SCORING)
    order = _to_evaluation(db_session, make_order(db_session), 50)
    points = db_session.scalars(select(WorkPointEntry.points).where(WorkPointEntry.order_id == order.id)
                                .order_by(WorkPointEntry.id)).all()
    assert points == [Decimal("2.00")]  # 5 for timely, −3 for the low score, in one entry


ESCALATION = [
    rule("三次重办升级", {"all": [cond("redo_count", "greater_than_or_equal_to", 3)]},
         act("raise_supervision"), act("notify_roles", roles=["station_manager", "team_leader"])),
]


def _redo(session, order, times):
    order = advance(session, order, ("dispatch", "leader1", {"assignee": "manager1"}), ("accept", "manager1", {}))
    for _ in range(times):
        order = advance(session, order, ("resolve", "manager1", {"resolution": "已处理"}),
                        ("callback", "operator1", {"satisfied": False, "note": "客户不满意"}))
    return order


def test_order_redone_three_times_is_raised_one_supervision_level(db_session):
    save(db_session, "escalation", "督办升级", ESCALATION)
    troubled = _redo(db_session, make_order(db_session, "ST001-G01"), 3)
    calmer = _redo(db_session, make_order(db_session, "ST001-G01"), 2)
    assert troubled.redo_count == 3 and troubled.state == "accepted"

    now = dt.datetime.now(dt.timezone.utc)
    done = run_escalation(db_session, now)
    db_session.commit()

    assert [(d.number, d.rule) for d in done] == [(troubled.number, "督办升级/三次重办升级")]
    assert db_session.get(WorkOrder, troubled.id).supervision_level == "station"
    assert db_session.get(WorkOrder, calmer.id).supervision_level == "none"
    event = db_session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == troubled.id,
                                                            WorkOrderEvent.action == "supervise")).one()
    assert event.data["to_level"] == "station" and event.data["rule"] == "督办升级/三次重办升级"
    notified = {n.user_id for n in db_session.scalars(select(Notification).where(
        Notification.order_id == troubled.id, Notification.kind == "escalation"))}
    assert notified == {staff(db_session, "director1").user_id, staff(db_session, "leader1").user_id}
    # the assignee is told of the supervision (issue 15)
    told = db_session.scalars(select(Notification.title).where(
        Notification.order_id == troubled.id, Notification.kind == "order_supervise")).all()
    assert told == [f"工单 {troubled.number} 被所级督办"]

    # the next sweep does not raise the same order again for the same rule
    assert run_escalation(db_session, now + dt.timedelta(minutes=10)) == []
    db_session.commit()
    assert db_session.get(WorkOrder, troubled.id).supervision_level == "station"


def test_overdue_order_is_raised_to_county_level(db_session):
    save(db_session, "escalation", "超期督办", [
        rule("超期", {"all": [cond("hours_to_deadline", "less_than", 0)]},
             act("raise_supervision_to", level="county"))])
    order = make_order(db_session, "ST001-G04")
    run_escalation(db_session, order.deadline + dt.timedelta(hours=1))
    db_session.commit()
    assert db_session.get(WorkOrder, order.id).supervision_level == "county"


def test_a_recorded_visit_earns_points_by_its_own_rule(db_session):
    from app.rules.scoring import ScoringFacts, score_record

    save(db_session, "scoring", "走访工分", [
        rule("走访", {"all": [cond("source_type", "contains", "visit")]}, act("award", points=1.5)),
        rule("工单", {"all": [cond("source_type", "contains", "work_order")]}, act("award", points=9))])
    manager2 = staff(db_session, "manager2")
    entries = score_record(db_session, source_type="visit", source_id=77, staff_id=manager2.id,
                           facts=ScoringFacts(), label="走访独居老人")
    db_session.commit()
    stored = db_session.scalars(select(WorkPointEntry).where(WorkPointEntry.source_type == "visit")).all()
    assert [(e.rule_name, e.points, e.source_id, e.staff_id) for e in stored] == [
        ("走访", Decimal("1.50"), 77, manager2.id)]
    assert entries[0].reason == "走访独居老人: award 1.50"
