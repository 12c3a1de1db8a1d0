"""Return visits that fit the process (issue 16): a visit is taken from resolution until
RETURN_VISIT_WINDOW_DAYS after evaluation; questions have kinds (yes/no, 1–5, choice, text)
with inputs to match; a demand type may need its visit before evaluation."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy import select

from app.models.workorder import CallbackQuestion, ReturnVisit, WorkOrder
from app.workflow import service
from tests.browser import sign_in
from tests.conftest import csrf_from
from tests.factories import actor, advance, make_order

pytestmark = pytest.mark.date_sensitive

CST = dt.timezone(dt.timedelta(hours=8))
MON_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=CST)
EVALUATED_AT = dt.datetime(2026, 11, 24, 16, 0, tzinfo=CST)


def _evaluated_order(db_session, demand_type="service"):
    with time_machine.travel(MON_9, tick=False):
        order = make_order(db_session, "ST001-G01", demand_type=demand_type)
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已更换熔丝"}),
                ("verify", "leader1", {}))
    with time_machine.travel(EVALUATED_AT, tick=False):
        advance(db_session, order, ("evaluate", "leader1", {"score": 95}))
    return order


def _visit(db_session, order, at, **params):
    with time_machine.travel(at, tick=False):
        current = db_session.get(WorkOrder, order.id)
        db_session.refresh(current)
        result = service.perform(db_session, actor(db_session, "operator1"), order.id, "callback",
                                 {"satisfied": True, **params}, version=current.version)
        db_session.commit()
        return result


def test_an_evaluated_order_takes_its_return_visit_within_the_window(db_session):
    order = _evaluated_order(db_session)
    done = _visit(db_session, order, EVALUATED_AT + dt.timedelta(days=6, hours=23),
                  answers={"on_time": "yes", "solved": "yes", "attitude": "5"})
    assert done.state == "evaluated"
    visit = db_session.scalar(select(ReturnVisit).where(ReturnVisit.order_id == order.id))
    assert visit.answers == {"on_time": "yes", "solved": "yes", "attitude": 5}


def test_past_the_window_the_return_visit_is_refused_with_the_reason(db_session, api_as):
    order = _evaluated_order(db_session)
    with time_machine.travel(EVALUATED_AT + dt.timedelta(days=7, minutes=1), tick=False):
        client = api_as("operator1")
        version = client.get(f"/api/v1/workorder/{order.id}").get_json()["result"]["version"]
        refused = client.post(f"/api/v1/workorder/{order.id}/callback", json={"version": version, "satisfied": True})
    assert refused.status_code == 409
    assert "7 days since the evaluation" in refused.get_json()["message"]


def test_the_window_is_a_setting(app, db_session):
    order = _evaluated_order(db_session)
    policy = service.Policy(return_visit_window_days=30)
    with time_machine.travel(EVALUATED_AT + dt.timedelta(days=20), tick=False):
        done = service.perform(db_session, actor(db_session, "operator1"), order.id, "callback",
                               {"satisfied": True}, policy=policy)
        db_session.commit()
    assert done.state == "evaluated"


def test_an_unsatisfied_visit_after_evaluation_sends_the_order_back_for_redo(db_session):
    order = _evaluated_order(db_session)
    done = _visit(db_session, order, EVALUATED_AT + dt.timedelta(days=2), satisfied=False,
                  answers={"solved": "no"})
    assert done.state == "accepted" and done.redo_count == 1 and done.evaluated_at is None


@pytest.mark.parametrize("answers,field", [
    ({"on_time": "maybe"}, "answer_on_time"),
    ({"attitude": "6"}, "answer_attitude"),
    ({"attitude": "很好"}, "answer_attitude"),
])
def test_answers_must_fit_their_question(db_session, api_as, answers, field):
    with time_machine.travel(MON_9, tick=False):
        order = make_order(db_session, "ST001-G01")
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已处理"}))
        client = api_as("operator1")
        version = client.get(f"/api/v1/workorder/{order.id}").get_json()["result"]["version"]
        refused = client.post(f"/api/v1/workorder/{order.id}/callback",
                              json={"version": version, "satisfied": True, "answers": answers})
    assert refused.status_code == 400
    assert refused.get_json()["field"] == field


def test_a_choice_question_takes_one_of_its_options(db_session, api_as):
    db_session.add(CallbackQuestion(code="channel_heard", text="您通过什么渠道了解到处理结果？", sort_order=9,
                                    kind="choice", options="电话\n短信\n上门"))
    db_session.commit()
    try:
        with time_machine.travel(MON_9, tick=False):
            order = make_order(db_session, "ST001-G01")
            advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                    ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已处理"}))
            client = api_as("operator1")
            version = client.get(f"/api/v1/workorder/{order.id}").get_json()["result"]["version"]
            wrong = client.post(f"/api/v1/workorder/{order.id}/callback",
                                json={"version": version, "satisfied": True, "answers": {"channel_heard": "微信"}})
            right = client.post(f"/api/v1/workorder/{order.id}/callback",
                                json={"version": version, "satisfied": True, "answers": {"channel_heard": "短信"}})
        assert wrong.status_code == 400 and right.status_code == 200
    finally:
        db_session.rollback()
        db_session.execute(CallbackQuestion.__table__.delete().where(CallbackQuestion.code == "channel_heard"))
        db_session.commit()


def test_a_demand_type_that_needs_its_visit_is_evaluated_only_after_it(app, db_session, login_as):
    policy = service.Policy(visit_required_types=frozenset({"complaint"}))
    with time_machine.travel(MON_9, tick=False):
        order = make_order(db_session, "ST001-G01", demand_type="complaint")
        advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已答复客户"}),
                ("verify", "leader1", {}))
        leader = actor(db_session, "leader1")
        with pytest.raises(service.IllegalTransition, match="before the return visit"):
            service.perform(db_session, leader, order.id, "evaluate", {"score": 90}, policy=policy)
        db_session.rollback()
        service.perform(db_session, actor(db_session, "operator1"), order.id, "callback", {"satisfied": True},
                        policy=policy)
        done = service.perform(db_session, leader, order.id, "evaluate", {"score": 90}, policy=policy)
        db_session.commit()
    assert done.state == "evaluated"


def test_the_required_visit_is_read_from_the_setting_and_shown_on_the_page(app, db_session, login_as):
    saved = service._default_policy
    service.configure({**app.config, "RETURN_VISIT_REQUIRED_DEMAND_TYPES": "complaint, urgent"})
    try:
        with time_machine.travel(MON_9, tick=False):
            order = make_order(db_session, "ST001-G01", demand_type="complaint")
            advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}),
                    ("accept", "manager1", {}), ("resolve", "manager1", {"resolution": "已答复客户"}),
                    ("verify", "leader1", {}))
            html = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    finally:
        service._default_policy = saved
    assert 'id="visit-first"' in html and 'data-action="evaluate"' not in html
    assert 'data-action="callback"' in html


def test_return_visit_form_posts_the_typed_answers(db_session, login_as):
    order = _evaluated_order(db_session)
    with time_machine.travel(EVALUATED_AT + dt.timedelta(days=1), tick=False):
        operator = login_as("operator1")
        page = operator.get(f"/workorderview/show/{order.id}").get_data(as_text=True)
        db_session.refresh(db_session.get(WorkOrder, order.id))
        response = operator.post(f"/workorderview/transition/{order.id}/callback", data={
            "csrf_token": csrf_from(page), "version": str(db_session.get(WorkOrder, order.id).version),
            "satisfied": "true", "answer_on_time": "yes", "answer_solved": "no", "answer_attitude": "4"})
    assert response.status_code == 302
    db_session.rollback()
    visit = db_session.scalar(select(ReturnVisit).where(ReturnVisit.order_id == order.id))
    assert visit.answers == {"on_time": "yes", "solved": "no", "attitude": 4}


@pytest.mark.browser
def test_operator_records_the_visit_of_an_evaluated_order_with_yes_no_choices(db_session, page, live_server):
    order = _evaluated_order(db_session)
    with time_machine.travel(EVALUATED_AT + dt.timedelta(days=3), tick=True):
        page.set_viewport_size({"width": 1366, "height": 900})
        sign_in(page, live_server, "operator1")
        page.goto(f"{live_server}/workorderview/show/{order.id}")
        page.click("details[data-action=callback] > summary")
        question = page.locator("fieldset[data-question=on_time]")
        assert question.locator("input[type=radio]").count() == 2
        assert [text.strip() for text in question.locator("label").all_inner_texts()] == ["是", "否"]
        question.get_by_label("否").check()
        page.locator("fieldset[data-question=solved]").get_by_label("是").check()
        page.locator("fieldset[data-question=attitude]").get_by_label("4 满意").check()
        page.locator("fieldset[data-question=satisfied]").get_by_label("满意", exact=True).check()
        page.click("form.gc-action[data-action=callback] button[type=submit]")
        page.wait_for_selector("text=回访：已完成")
        assert "否" in page.inner_text("#order-visits")
    db_session.rollback()
    visit = db_session.scalar(select(ReturnVisit).where(ReturnVisit.order_id == order.id))
    assert visit.satisfied is True and visit.answers == {"on_time": "no", "solved": "yes", "attitude": 4}
    assert db_session.get(WorkOrder, order.id).state == "evaluated"


def test_the_visit_page_reads_the_answers_as_questions_and_words(db_session, login_as):
    order = _evaluated_order(db_session)
    _visit(db_session, order, EVALUATED_AT + dt.timedelta(days=1),
           answers={"on_time": "yes", "solved": "no", "attitude": "5"})
    visit = db_session.scalar(select(ReturnVisit).where(ReturnVisit.order_id == order.id))
    html = login_as("leader1").get(f"/returnvisitview/show/{visit.id}").get_data(as_text=True)
    assert "工作人员是否按时到达？ 是" in html and "问题是否已解决？ 否" in html and "对服务态度是否满意？ 5" in html
    assert "{&#39;on_time&#39;" not in html and "'on_time'" not in html
