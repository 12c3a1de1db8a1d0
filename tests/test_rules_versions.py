"""Rule sets are versioned: invalid ones are refused, old ones come back, versions compare."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models.rules import RuleSet, RuleSetVersion
from app.rules import store
from app.rules.validation import RuleValidationError, validate_rules
from tests.factories import make_order, staff
from tests.rules_helpers import act, cond, rule, save


def _complaints_to(username):
    return [rule("投诉派单", {"all": [cond("demand_type", "contains", "complaint")]},
                 act("assign_person", staff=username))]


def test_invalid_rule_is_refused_naming_the_condition_and_active_version_is_kept(db_session):
    rule_set = save(db_session, "routing", "投诉派单", _complaints_to("manager2"))
    bad = [rule("投诉派单", {"all": [cond("demand_type", "contains", "complaint"),
                                     cond("channel", "foo", "hotline_12345")]},
                act("assign_person", staff="manager3"))]

    with pytest.raises(RuleValidationError) as refused:
        store.save_rule_set(db_session, domain="routing", name="投诉派单", rules=bad, author="admin",
                            rule_set_id=rule_set.id)
    db_session.rollback()

    assert "conditions.all[1]: unknown operator 'foo' for variable 'channel'" in refused.value.message
    assert db_session.get(RuleSet, rule_set.id).version == 1
    order = make_order(db_session, demand_type="complaint", content="投诉")
    assert order.assignee_id == staff(db_session, "manager2").id


@pytest.mark.parametrize("rules, message", [
    ([rule("r", {"all": [cond("colour", "equal_to", "red")]}, act("flag_sensitive"))],
     "rule 1 'r': conditions.all[0]: unknown variable 'colour'"),
    ([rule("r", {"any": [cond("hour_of_day", "greater_than", "eight")]}, act("flag_sensitive"))],
     "rule 1 'r': conditions.any[0]: the value for 'hour_of_day' must be a number, not 'eight'"),
    ([rule("r", {"all": [cond("channel", "contains", "fax")]}, act("flag_sensitive"))],
     "rule 1 'r': conditions.all[0]: 'fax' is not an option of 'channel'"),
    ([rule("r", {"all": [cond("working_day", "is_true")]}, act("launch_rocket"))],
     "rule 1 'r': actions[0]: unknown action 'launch_rocket'"),
    ([rule("r", {"all": [cond("working_day", "is_true")]}, act("set_deadline_working_days", days="two"))],
     "rule 1 'r': actions[0].params.days: 'days' must be a number, not 'two'"),
    ([rule("r", {"all": [cond("working_day", "is_true")]}, act("assign_person", staff="nobody"))],
     "rule 1 'r': actions[0].params.staff: 'nobody' is not an option of 'staff'"),
    ([rule("r", {"all": []}, act("flag_sensitive"))],
     "rule 1 'r': conditions.all: a group needs at least one condition"),
])
def test_validation_points_at_the_bad_part(db_session, rules, message):
    assert message in validate_rules("routing", rules, db_session)


def test_rolling_back_restores_the_earlier_behaviour_on_the_next_order(db_session):
    rule_set = save(db_session, "routing", "投诉派单", _complaints_to("manager2"))
    save(db_session, "routing", "投诉派单", _complaints_to("manager3"), rule_set_id=rule_set.id)
    assert make_order(db_session, demand_type="complaint", content="投诉").assignee_id == \
        staff(db_session, "manager3").id

    store.rollback(db_session, rule_set.id, 1, author="admin")
    db_session.commit()

    assert make_order(db_session, demand_type="complaint", content="投诉").assignee_id == \
        staff(db_session, "manager2").id
    versions = db_session.scalars(select(RuleSetVersion).where(RuleSetVersion.rule_set_id == rule_set.id)
                                  .order_by(RuleSetVersion.version)).all()
    assert [v.version for v in versions] == [1, 2, 3]
    assert versions[2].rules == versions[0].rules and versions[2].comment == "rollback to version 1"


def test_diff_names_changed_added_and_removed_rules(db_session):
    rule_set = save(db_session, "routing", "投诉派单", _complaints_to("manager2"))
    changed = _complaints_to("manager3") + [
        rule("夜间工单", {"all": [cond("hour_of_day", "greater_than_or_equal_to", 22)]}, act("flag_sensitive"))]
    save(db_session, "routing", "投诉派单", changed, rule_set_id=rule_set.id, priority=50)

    diff = store.diff(db_session, rule_set.id, 1, 2)
    assert diff.added == ["夜间工单"] and diff.removed == []
    assert diff.changed == ["投诉派单", "priority 100 → 50"]
    assert any(line.startswith("-") and "manager2" in line for line in diff.lines)
    assert any(line.startswith("+") and "manager3" in line for line in diff.lines)


def test_a_second_rule_set_with_the_same_name_is_refused(db_session):
    save(db_session, "routing", "投诉派单", _complaints_to("manager2"))
    with pytest.raises(Exception) as refused:
        save(db_session, "routing", "投诉派单", _complaints_to("manager3"))
    assert "already exists" in str(refused.value)


def test_higher_priority_rule_set_assigns_first(db_session):
    save(db_session, "routing", "低优先", _complaints_to("manager2"), priority=10)
    save(db_session, "routing", "高优先", _complaints_to("manager3"), priority=90)
    assert make_order(db_session, demand_type="complaint", content="投诉").assignee_id == \
        staff(db_session, "manager3").id


def test_engine_cache_reloads_only_when_a_rule_set_changes_anywhere(app, db_session):
    from sqlalchemy.orm import Session

    from app.extensions import db
    from app.rules.engine import active_rule_sets

    rule_set = save(db_session, "routing", "投诉派单", _complaints_to("manager2"))
    with app.app_context():
        other_process = Session(db.engine)  # another worker's own connection
    try:
        first = active_rule_sets(db_session, "routing")
        assert active_rule_sets(db_session, "routing") is first  # unchanged: served from the cache
        store.save_rule_set(other_process, domain="routing", name="投诉派单", rules=_complaints_to("manager3"),
                            author="admin", rule_set_id=rule_set.id)
        other_process.commit()
        db_session.rollback()
        reloaded = active_rule_sets(db_session, "routing")
        assert reloaded is not first and reloaded[0].version == 2
        assert reloaded[0].rules[0]["actions"][0]["params"]["staff"] == "manager3"
        store.set_active(other_process, rule_set.id, False, "admin")
        other_process.commit()
        db_session.rollback()
        assert active_rule_sets(db_session, "routing") == []
    finally:
        other_process.close()


def test_a_rule_set_switched_off_by_another_process_stops_routing_within_the_stamp_seconds(app, db_session):
    import datetime as dt

    import time_machine
    from sqlalchemy import update

    from app import clock
    from app.models.rules import RuleSet
    from app.rules.engine import active_rule_sets

    rule_set = save(db_session, "routing", "投诉派单", _complaints_to("manager2"))
    now = clock.now()
    with app.app_context(), time_machine.travel(now, tick=False):
        assert len(active_rule_sets(db_session, "routing")) == 1
        # Another process shares no memory with this one: only the database tells.
        db_session.execute(update(RuleSet).where(RuleSet.id == rule_set.id)
                           .values(active=False, updated_at=now))
        db_session.commit()
        assert len(active_rule_sets(db_session, "routing")) == 1  # the stamp was read just now
    later = now + dt.timedelta(seconds=app.config["RULES_STAMP_SECONDS"] + 0.5)
    with app.app_context(), time_machine.travel(later, tick=False):
        assert active_rule_sets(db_session, "routing") == []
