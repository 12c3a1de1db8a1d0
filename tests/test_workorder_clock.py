"""The clock: working days on the Chinese calendar, suspensions, extensions, redo, reopen."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models.workorder import WorkOrder
from app.workflow import calendar
from app.workflow.calendar import LOCAL_TZ
from tests.factories import actor, advance, make_order
from app.workflow import service

pytestmark = pytest.mark.date_sensitive


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL_TZ).astimezone(dt.timezone.utc)


def test_deadline_falling_on_national_day_moves_to_next_working_day():
    # Received Wednesday 30 September 2026, 10:00; one working day later would be
    # 1 October — the National Day holiday runs to 7 October, so it falls due on the 8th.
    deadline = calendar.add_working_days(local(2026, 9, 30, 10, 0), 1)
    assert deadline.astimezone(LOCAL_TZ) == dt.datetime(2026, 10, 8, 10, 0, tzinfo=LOCAL_TZ)


def test_make_up_saturday_counts_as_working_day():
    # Friday 9 October 2026 + 1 working day: Saturday 10 October is a make-up working day.
    deadline = calendar.add_working_days(local(2026, 10, 9, 9, 0), 1)
    assert deadline.astimezone(LOCAL_TZ) == dt.datetime(2026, 10, 10, 9, 0, tzinfo=LOCAL_TZ)
    # An ordinary Saturday does not count: Friday 16 October + 1 → Monday 19 October.
    deadline = calendar.add_working_days(local(2026, 10, 16, 9, 0), 1)
    assert deadline.astimezone(LOCAL_TZ) == dt.datetime(2026, 10, 19, 9, 0, tzinfo=LOCAL_TZ)


def test_registered_order_deadline_skips_the_holiday(db_session):
    order = make_order(db_session, received_at=local(2026, 9, 29, 15, 0))
    # 3 working days from Tuesday 29 September: 29→30 (1), 30→8 Oct (2), 8→9 Oct (3).
    assert order.deadline.astimezone(LOCAL_TZ) == dt.datetime(2026, 10, 9, 15, 0, tzinfo=LOCAL_TZ)


def test_suspended_order_deadline_moves_by_working_time_suspended(db_session):
    start = local(2026, 11, 2, 9, 0)  # Monday
    order = make_order(db_session, received_at=start)
    advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}), now=start)
    before = order.deadline
    # Suspended from Thursday 5 November 09:00 to Monday 9 November 09:00: the weekend does
    # not count, so the clock stood still for two working days (Thursday and Friday).
    advance(db_session, order, ("suspend", "manager1", {"reason": "客户外出，约定下周上门"}),
            now=local(2026, 11, 5, 9, 0))
    refused = None
    try:
        service.perform(db_session, actor(db_session, "manager1"), order.id, "accept", {},
                        now=local(2026, 11, 6, 9, 0))
    except Exception as error:  # an order cannot be worked on while suspended
        refused = error
        db_session.rollback()
    assert refused is not None and "suspended" in str(refused)
    advance(db_session, order, ("resume", "manager1", {}), now=local(2026, 11, 9, 9, 0))
    db_session.rollback()
    order = db_session.get(WorkOrder, order.id)
    assert order.deadline - before == dt.timedelta(days=4)  # Thu..Mon 09:00 = 2 working days + weekend
    assert calendar.working_time_between(before, order.deadline) == dt.timedelta(days=2)
    assert not order.suspended


def test_approved_extension_moves_deadline_and_refused_one_does_not(db_session):
    start = local(2026, 11, 2, 9, 0)
    order = make_order(db_session, received_at=start)
    advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), now=start)
    original = order.deadline
    advance(db_session, order, ("extend", "manager1", {"days": 2, "reason": "需等待物资"}), now=start)
    advance(db_session, order, ("refuse_extension", "leader1", {"reason": "可先临时处理"}), now=start)
    db_session.rollback()
    assert db_session.get(WorkOrder, order.id).deadline == original

    advance(db_session, order, ("extend", "manager1", {"days": 2, "reason": "需停电作业"}), now=start)
    advance(db_session, order, ("approve_extension", "leader1", {}), now=start)
    db_session.rollback()
    extended = db_session.get(WorkOrder, order.id).deadline
    assert extended == calendar.add_working_days(original, 2)
    # Original deadline Thursday 5 Nov 09:00 + 2 working days → Monday 9 Nov 09:00.
    assert extended.astimezone(LOCAL_TZ) == dt.datetime(2026, 11, 9, 9, 0, tzinfo=LOCAL_TZ)


def test_source_platform_deadline_is_kept_beside_the_internal_one(db_session):
    # Received Monday 09:00: the internal limit (3 working days) is Thursday 09:00; a later
    # source deadline is kept beside it, and an earlier one clamps it (issue 13).
    later = local(2026, 11, 6, 17, 0)
    order = make_order(db_session, received_at=local(2026, 11, 2, 9, 0), source_deadline=later)
    assert order.source_deadline == later and order.deadline == local(2026, 11, 5, 9, 0)
    earlier = local(2026, 11, 3, 17, 0)
    order = make_order(db_session, received_at=local(2026, 11, 2, 9, 0), source_deadline=earlier)
    assert order.source_deadline == earlier and order.deadline == earlier


def test_unsatisfied_callback_returns_order_for_redo_and_shows_redo_count(db_session, login_as, api_as):
    order = make_order(db_session)
    advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已修复"}))
    leader = api_as("leader1")
    body = leader.get(f"/api/v1/workorder/{order.id}").get_json()["result"]
    answer = leader.post(f"/api/v1/workorder/{order.id}/callback",
                         json={"version": body["version"], "satisfied": False,
                               "answers": {"solved": "否"}, "note": "客户称仍然停电"})
    assert answer.status_code == 200, answer.get_json()
    result = answer.get_json()["result"]
    assert result["state"] == "accepted" and result["redo_count"] == 1
    page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert 'id="redo-count">1<' in page


def test_callback_with_unknown_question_is_refused(db_session, api_as):
    order = make_order(db_session)
    advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
            ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已修复"}))
    response = api_as("leader1").post(f"/api/v1/workorder/{order.id}/callback",
                                      json={"version": 4, "satisfied": True, "answers": {"x": 1}})
    assert response.status_code == 400 and response.get_json()["field"] == "answers"


def test_reopen_within_window_and_new_linked_order_after_it(db_session):
    start = local(2026, 11, 2, 9, 0)
    steps = (("dispatch", "leader1", {"assignee": "manager1"}), ("accept", "manager1", {}),
             ("resolve", "manager1", {"resolution": "已处理"}), ("verify", "leader1", {}),
             ("evaluate", "leader1", {"score": 90}))
    first = make_order(db_session, received_at=start)
    advance(db_session, first, *steps, now=start)
    reopened = advance(db_session, first, ("reopen", "leader1", {"reason": "客户再次反映"}),
                       now=start + dt.timedelta(days=3))
    assert reopened.id == first.id and reopened.state == "dispatched"

    second = make_order(db_session, received_at=start)
    advance(db_session, second, *steps, now=start)
    late = service.perform(db_session, actor(db_session, "leader1"), second.id, "reopen",
                           {"reason": "客户再次反映"}, now=start + dt.timedelta(days=30))
    db_session.commit()
    assert late.id != second.id and late.reopened_from_id == second.id
    db_session.rollback()
    assert db_session.get(WorkOrder, second.id).state == "evaluated"
