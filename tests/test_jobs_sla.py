"""SLA sweeps: each warning level once per order, reaching wider as the deadline nears."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.jobs.sla import clock_of, sweep
from app.models.jobs import SlaWarning
from app.models.notification import Notification
from app.models.workorder import WorkOrderEvent
from app.workflow.calendar import LOCAL_TZ
from tests.factories import advance, make_order

pytestmark = pytest.mark.date_sensitive

# Monday 09:00 in Shanghai; the default allowance is 3 working days → Thursday 09:00.
RECEIVED = dt.datetime(2026, 11, 23, 9, 0, tzinfo=LOCAL_TZ)


def _notified(session, order_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    from flask_appbuilder.security.sqla.models import User

    return set(session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)
                               .where(Notification.order_id == order_id)))


def _dispatched_order(session):  # type: ignore[no-untyped-def]
    order = make_order(session, "ST001-G01", received_at=RECEIVED)
    return advance(session, order, ("dispatch", "leader1", {}), now=RECEIVED + dt.timedelta(hours=1))


def test_order_past_75_percent_gets_exactly_one_warning_of_that_level(app, db_session):
    order = _dispatched_order(db_session)
    at_80 = RECEIVED + dt.timedelta(days=2.4)
    assert 0.79 < clock_of(order, at_80).share < 0.81

    counts = sweep(db_session, at_80)
    db_session.commit()

    warnings = db_session.scalars(select(SlaWarning).where(SlaWarning.order_id == order.id)).all()
    assert [w.level for w in warnings] == ["75"]
    assert _notified(db_session, order.id) == {"manager1", "leader1"}  # assignee and team leader
    assert counts["warnings"] == 1 and counts["notifications"] == 2

    again = sweep(db_session, at_80 + dt.timedelta(minutes=5))
    db_session.commit()
    assert again["warnings"] == 0 and again["notifications"] == 0
    assert db_session.scalar(select(func.count()).select_from(SlaWarning)) == 1
    # (the dispatch told manager1 too: kind "order_dispatch", not a warning)
    assert db_session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "sla")) == 2


def test_levels_reach_wider_and_an_overdue_order_is_marked(app, db_session, tmp_path):
    order = _dispatched_order(db_session)
    config = {"SLA_WARNING_LEVELS": "50,75,90", "SLA_MAIL": "1", "OUTBOX_DIR": str(tmp_path)}

    sweep(db_session, RECEIVED + dt.timedelta(days=1.6), config)  # 53 %
    assert _notified(db_session, order.id) == {"manager1"}
    sweep(db_session, RECEIVED + dt.timedelta(days=2.8), config)  # 93 %
    sweep(db_session, RECEIVED + dt.timedelta(days=3.1), config)  # past the deadline
    db_session.commit()

    levels = db_session.scalars(select(SlaWarning.level).where(SlaWarning.order_id == order.id)
                                .order_by(SlaWarning.id)).all()
    assert levels == ["50", "90", "overdue"]
    assert _notified(db_session, order.id) == {"manager1", "leader1", "director1"}
    overdue = db_session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.order_id == order.id,
                                                              WorkOrderEvent.action == "overdue")).all()
    assert len(overdue) == 1
    # one mail per person per warning: 1 + 3 + 3
    assert len(list(tmp_path.glob("*.eml"))) == 7
    assert [w.mailed for w in db_session.scalars(select(SlaWarning).order_by(SlaWarning.id))] == [1, 3, 3]


def test_the_order_page_shows_the_clock(app, db_session, login_as):
    order = _dispatched_order(db_session)
    sweep(db_session, RECEIVED + dt.timedelta(days=3.1))
    db_session.commit()
    page = login_as("leader1").get(f"/workorderview/show/{order.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="sla-clock"' in html
    assert "2026-11-26 09:00" in html  # the deadline, local time
    assert 'data-level="overdue"' in html


def test_the_assignee_sees_the_warning_in_the_notification_list_and_the_app(app, db_session, login_as, api_as):
    from tests.conftest import csrf_from

    order = _dispatched_order(db_session)
    sweep(db_session, RECEIVED + dt.timedelta(days=1.6))
    db_session.commit()

    page = login_as("manager1")
    html = page.get("/notifications/").get_data(as_text=True)
    assert f"工单 {order.number} 已用时 50%" in html and 'data-read="no"' in html
    assert "已用时" not in login_as("manager2").get("/notifications/").get_data(as_text=True)

    mobile = api_as("manager1")
    listed = mobile.get("/api/v1/notification/?unread=1").get_json()
    # unread: the warning and, before it, the dispatch (issue 15)
    assert listed["unread"] == 2 and [n["kind"] for n in listed["result"]] == ["sla", "order_dispatch"]
    assert listed["result"][0]["order_id"] == order.id
    notice_id = listed["result"][0]["id"]
    assert api_as("leader1").post(f"/api/v1/notification/{notice_id}/read").status_code == 404
    opened = page.post(f"/notifications/read/{notice_id}", data={"csrf_token": csrf_from(html)})
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/workorderview/show/{order.id}")
    assert mobile.get("/api/v1/notification/").get_json()["unread"] == 1
