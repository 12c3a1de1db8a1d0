"""The records around orders have their own scoped, read-only lists."""

from __future__ import annotations

from tests.factories import advance, make_order


def test_extension_queue_and_return_visits_are_listed_in_scope_and_read_only(db_session, login_as):
    order = make_order(db_session, "ST001-G01")
    advance(db_session, order, ("dispatch", "leader1", {"assignee": "manager1"}), ("accept", "manager1", {}),
            ("extend", "manager1", {"days": 2, "reason": "等待停电窗口"}))
    other = make_order(db_session, "ST002-G01", by="operator2")
    advance(db_session, other, ("dispatch", "leader2", {"assignee": "st2_manager1"}),
            ("accept", "st2_manager1", {}), ("extend", "st2_manager1", {"days": 1, "reason": "城西延期"}))

    leader = login_as("leader1")
    queue = leader.get("/extensionrequestview/list/").get_data(as_text=True)
    assert "等待停电窗口" in queue and "城西延期" not in queue
    assert "等待停电窗口" not in login_as("manager2").get("/extensionrequestview/list/").get_data(as_text=True)
    assert "等待停电窗口" in login_as("manager1").get("/extensionrequestview/list/").get_data(as_text=True)
    assert leader.get("/extensionrequestview/add").status_code in (302, 403, 404)
    events = leader.get("/workordereventview/list/").get_data(as_text=True)
    assert order.number in events and other.number not in events
