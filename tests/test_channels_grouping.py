"""Duplicates across channels and parent/child grouping of outage reports."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.channels import duplicates
from app.models.channel import DuplicateReview, FeedbackOutbox
from app.models.workorder import WorkOrder
from app.workflow import service
from app.workflow.errors import Forbidden
from tests.factories import actor, advance, make_customer, make_order

T0 = dt.datetime(2026, 11, 27, 1, 0, tzinfo=dt.timezone.utc)


def test_repeated_complaint_from_the_same_phone_within_72h_is_flagged_and_linked(db_session):
    first = make_order(db_session, "ST001-G01", channel="hotline_12345", demand_type="complaint",
                       content="抄表员态度差，电费账单有误", phone="13800001111", received_at=T0)
    again = make_order(db_session, "ST001-G01", channel="city_call", demand_type="complaint",
                       content="抄表员态度很差，电费账单有误！", phone="13800001111",
                       received_at=T0 + dt.timedelta(hours=50))
    db_session.rollback()
    assert again.duplicate_of_id == first.id
    review = db_session.scalar(select(DuplicateReview).where(DuplicateReview.order_id == again.id))
    assert review.status == "pending" and review.matched_on == "phone"
    assert first.duplicate_of_id is None


def test_same_phone_after_the_window_or_on_another_matter_is_not_a_duplicate(db_session):
    make_order(db_session, channel="hotline_12345", demand_type="complaint",
               content="抄表员态度差，电费账单有误", phone="13800001111", received_at=T0)
    late = make_order(db_session, channel="hotline_12345", demand_type="complaint",
                      content="抄表员态度差，电费账单有误", phone="13800001111",
                      received_at=T0 + dt.timedelta(hours=73))
    other = make_order(db_session, channel="hotline_12345", demand_type="consultation",
                       content="想申请屋顶光伏并网，需要什么材料", phone="13800001111",
                       received_at=T0 + dt.timedelta(hours=1))
    assert late.duplicate_of_id is None and other.duplicate_of_id is None


def test_same_customer_with_another_phone_is_flagged_too(db_session):
    customer = make_customer(db_session, "ST001-G02")
    first = make_order(db_session, "ST001-G02", content="家里电压不稳，灯一直闪",
                       customer_no=customer.customer_no, phone="13911112222", received_at=T0)
    again = make_order(db_session, "ST001-G02", content="家里电压不稳定，灯一直在闪",
                       customer_no=customer.customer_no, phone="13733334444",
                       received_at=T0 + dt.timedelta(hours=3))
    assert again.duplicate_of_id == first.id


def _flagged_pair(db_session):
    first = make_order(db_session, "ST001-G01", channel="hotline_12345", content="路灯杆倾斜有危险",
                       phone="13800001111", received_at=T0)
    again = make_order(db_session, "ST001-G01", channel="oa_demand", content="路灯杆倾斜，有危险",
                       phone="13800001111", received_at=T0 + dt.timedelta(hours=2))
    review = db_session.scalar(select(DuplicateReview).where(DuplicateReview.order_id == again.id))
    return first, again, review


def test_leader_merges_a_duplicate_and_the_merged_order_keeps_both_timelines(db_session):
    first, again, review = _flagged_pair(db_session)
    duplicates.decide(db_session, actor(db_session, "leader1"), review.id, merge=True)
    db_session.commit()
    assert review.status == "merged" and again.parent_id == first.id
    timeline = duplicates.merged_timeline(db_session, first)
    assert {e.order_id for e in timeline} == {first.id, again.id}
    assert [e.action for e in timeline if e.order_id == again.id][:2] == ["register", "flag_duplicate"]
    # resolving the original resolves the merged one too
    advance(db_session, first, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已扶正电杆"}))
    db_session.refresh(again)
    assert again.state == "resolved" and "已扶正电杆" in again.resolution


def test_leader_keeps_a_flagged_order_apart(db_session):
    first, again, review = _flagged_pair(db_session)
    duplicates.decide(db_session, actor(db_session, "leader1"), review.id, merge=False)
    db_session.commit()
    assert review.status == "kept" and again.duplicate_of_id is None and again.parent_id is None


def test_district_manager_cannot_decide_on_duplicates(db_session):
    _, _, review = _flagged_pair(db_session)
    with pytest.raises(Forbidden):
        duplicates.decide(db_session, actor(db_session, "manager1"), review.id, merge=True)


def _outage_reports(db_session, count=5, minutes_apart=10, grid="ST001-G03"):
    customers = [make_customer(db_session, grid) for _ in range(count)]
    orders = []
    for i, customer in enumerate(customers):
        orders.append(make_order(
            db_session, grid, channel=("hotline_12345", "city_call", "three_services",
                                       "grassroots_grid", "oa_demand")[i % 5],
            demand_type="urgent", content=f"家里突然停电了，邻居家也没电（{i + 1}）",
            customer_no=customer.customer_no, phone=customer.phone, external_id=f"OUT-{i}",
            received_at=T0 + dt.timedelta(minutes=minutes_apart * i)))
    return orders


def test_five_outage_reports_of_one_transformer_area_within_an_hour_become_one_parent(db_session):
    orders = _outage_reports(db_session)
    db_session.rollback()
    parents = {o.parent_id for o in db_session.scalars(select(WorkOrder).where(
        WorkOrder.id.in_([o.id for o in orders])))}
    assert len(parents) == 1 and None not in parents
    parent = db_session.get(WorkOrder, parents.pop())
    assert sorted(c.id for c in parent.children) == sorted(o.id for o in orders)
    assert parent.grid.code == "ST001-G03" and parent.priority == "high"


def test_outage_reports_further_apart_than_an_hour_are_not_grouped(db_session):
    orders = _outage_reports(db_session, count=2, minutes_apart=90)
    db_session.rollback()
    assert all(db_session.get(WorkOrder, o.id).parent_id is None for o in orders)


def test_resolving_the_parent_resolves_all_five_and_feeds_every_source_back(db_session):
    orders = _outage_reports(db_session)
    db_session.rollback()
    parent = db_session.get(WorkOrder, db_session.get(WorkOrder, orders[0].id).parent_id)
    advance(db_session, parent, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "更换跌落式熔断器，恢复供电"}))
    db_session.rollback()
    children = db_session.scalars(select(WorkOrder).where(WorkOrder.parent_id == parent.id)).all()
    assert len(children) == 5 and all(c.state == "resolved" for c in children)
    assert all("恢复供电" in c.resolution for c in children)
    fed_back = db_session.scalars(select(FeedbackOutbox.channel).where(FeedbackOutbox.action == "resolve")).all()
    assert sorted(fed_back) == sorted(["hotline_12345", "city_call", "three_services",
                                       "grassroots_grid", "oa_demand"])
    # verifying and evaluating the parent closes the children as well
    advance(db_session, parent, ("verify", "leader1", {}), ("evaluate", "leader1", {"score": 90}))
    db_session.rollback()
    assert {c.state for c in db_session.scalars(select(WorkOrder).where(WorkOrder.parent_id == parent.id))} == {"evaluated"}


def test_parent_resolution_is_recorded_on_each_child_timeline(db_session):
    orders = _outage_reports(db_session, count=2)
    db_session.rollback()
    child = db_session.get(WorkOrder, orders[1].id)
    parent = child.parent
    advance(db_session, parent, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已恢复"}))
    db_session.refresh(child)
    assert [e.action for e in child.events][-3:] == ["dispatch", "accept", "resolve"]
    assert service.available_actions(db_session, actor(db_session, "leader1"), child)
