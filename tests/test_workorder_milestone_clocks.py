"""Milestone clocks, as utilities run them (issue 13): every order runs the clocks its demand
type needs — first contact, arrival on site and restoration for repairs, completion, the
source platform's deadline — each with its own deadline, warnings and timely flag."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from app.jobs.sla import sweep
from app.models.clocks import WorkOrderClock
from app.models.jobs import SlaWarning
from app.models.org import Grid
from app.models.workorder import WorkOrder
from app.rules.escalation import run_escalation
from app.workflow.calendar import LOCAL_TZ
from tests.conftest import csrf_from
from tests.factories import advance, make_customer, make_order
from tests.rules_helpers import act, cond, rule, save
from tests.test_channels_intake import new_key

pytestmark = pytest.mark.date_sensitive

# Wednesday 25 November 2026, an ordinary working day in Shanghai.
WED_10 = dt.datetime(2026, 11, 25, 10, 0, tzinfo=LOCAL_TZ)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A moment of November 2026 (or 1 December for day 31+), station time."""
    base = dt.datetime(2026, 11, 1, hour, minute, tzinfo=LOCAL_TZ)
    return base + dt.timedelta(days=day - 1)


def local(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).astimezone(LOCAL_TZ)


def clocks_of(session, order_id: int) -> dict[str, WorkOrderClock]:  # type: ignore[no-untyped-def]
    session.rollback()  # a fresh look: the requests made since have committed
    return {c.kind: c for c in session.scalars(select(WorkOrderClock).where(WorkOrderClock.order_id == order_id))}


def warnings_of(session, order_id: int) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(w.clock, w.level) for w in session.scalars(
        select(SlaWarning).where(SlaWarning.order_id == order_id).order_by(SlaWarning.id))]


def sweep_at(session, moment: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """The SLA job's tick at ``moment``, in a transaction of its own."""
    session.rollback()
    sweep(session, moment.astimezone(dt.timezone.utc))
    session.commit()


def act_as(api_as, username: str, order_id: int, action: str, now: dt.datetime, **body):  # type: ignore[no-untyped-def]
    """``username`` applies ``action`` through the API at ``now`` (signed in at that moment)."""
    with time_machine.travel(now, tick=False):
        client = api_as(username)
        version = client.get(f"/api/v1/workorder/{order_id}").get_json()["result"]["version"]
        return client.post(f"/api/v1/workorder/{order_id}/{action}", json={"version": version, **body})


# --- the source platform's deadline ---------------------------------------------------------
def test_hotline_complaint_due_earlier_at_the_source_is_due_and_warned_at_the_source_deadline(
        app, client, db_session, api_as):
    customer = make_customer(db_session, "ST001-G01")
    key = new_key(app, "hotline_12345")
    body = {"external_id": "12345-2026-004711", "demand_type": "complaint", "content": "抄表数据有误，电费偏高",
            "contact_name": "李女士", "phone": "13800002222", "customer_no": customer.customer_no,
            "received_at": WED_10.isoformat(), "source_deadline": at(27, 10).isoformat()}
    with time_machine.travel(WED_10, tick=False):
        created = client.post("/api/v1/intake/hotline_12345", json=body, headers={"X-API-Key": key})
    assert created.status_code == 201, created.get_json()
    order_id = created.get_json()["id"]

    # A complaint is replied to within 7 working days (Friday 4 December), but the hotline
    # wants it by Friday 27 November 10:00: the order is due then.
    with time_machine.travel(WED_10, tick=False):
        shown = api_as("leader1").get(f"/api/v1/workorder/{order_id}").get_json()["result"]
    assert local(shown["deadline"]) == at(27, 10) == local(shown["source_deadline"])
    assert act_as(api_as, "leader1", order_id, "dispatch", at(25, 10, 5), assignee="manager1").status_code == 200
    contacted = act_as(api_as, "manager1", order_id, "contact", at(25, 11), note="已电话联系客户，约定核对抄表")
    assert contacted.status_code == 200, contacted.get_json()
    assert {c["kind"]: c["timely"] for c in contacted.get_json()["result"]["clocks"]}["contact"] is True

    # 48 working hours allowed; Thursday 20:00 is 34 h in (71 %), 23:00 is 37 h (77 %).
    sweep_at(db_session, at(26, 20))
    assert warnings_of(db_session, order_id) == [("source", "50")]
    sweep_at(db_session, at(26, 23))
    assert warnings_of(db_session, order_id) == [("source", "50"), ("source", "75")]
    warning = db_session.scalars(select(SlaWarning).where(SlaWarning.level == "75")).one()
    assert 0.75 <= warning.elapsed_share < 0.8
    # the internal limit, clamped to the same moment, is not warned a second time
    assert clocks_of(db_session, order_id)["completion"].deadline == at(27, 10)


# --- an urgent repair in an urban grid --------------------------------------------------------
def test_urban_repair_warns_before_45_minutes_and_a_late_arrival_is_late_on_that_clock_only(
        db_session, api_as, login_as):
    order = make_order(db_session, "ST001-G01", demand_type="urgent", content="整栋楼停电",
                       received_at=WED_10)
    clocks = clocks_of(db_session, order.id)
    assert clocks["arrival"].deadline == at(25, 10, 45)
    assert clocks["restoration"].deadline == at(25, 13)
    act_as(api_as, "leader1", order.id, "dispatch", at(25, 10, 2), assignee="manager1")
    act_as(api_as, "manager1", order.id, "accept", at(25, 10, 5))

    # Nobody has recorded arrival: 10:30 is two thirds of the 45 minutes, 10:41 over nine tenths.
    sweep_at(db_session, at(25, 10, 30))
    sweep_at(db_session, at(25, 10, 41))
    assert warnings_of(db_session, order.id) == [("arrival", "50"), ("arrival", "90")]
    sent = db_session.scalars(select(SlaWarning.sent_at).where(SlaWarning.order_id == order.id)).all()
    assert all(moment < at(25, 10, 45) for moment in sent)

    arrived = act_as(api_as, "manager1", order.id, "arrive", at(25, 10, 50), latitude=30.2741, longitude=120.1551)
    assert arrived.status_code == 200, arrived.get_json()
    resolved = act_as(api_as, "manager1", order.id, "resolve", at(25, 12, 10), resolution="更换熔断器，已恢复供电")
    assert resolved.status_code == 200, resolved.get_json()

    clocks = clocks_of(db_session, order.id)
    assert clocks["arrival"].met_at == at(25, 10, 50) and clocks["arrival"].timely is False
    assert clocks["restoration"].timely is True and clocks["completion"].timely is True
    stored = db_session.get(WorkOrder, order.id)
    assert stored.timely is False  # an order is timely when it meets every clock
    assert (stored.arrival_latitude, stored.arrival_longitude) == (Decimal("30.274100"), Decimal("120.155100"))
    with time_machine.travel(at(25, 12, 15), tick=False):
        page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert 'data-clock="arrival" data-state="late"' in page
    assert 'data-clock="completion" data-state="timely"' in page


def test_rural_repair_has_90_minutes_to_reach_the_site(db_session):
    assert db_session.scalar(select(Grid.area_class).where(Grid.code == "ST001-G06")) == "rural"  # demo data
    order = make_order(db_session, "ST001-G06", demand_type="urgent", content="村口变压器跳闸",
                       received_at=WED_10)
    clocks = clocks_of(db_session, order.id)
    assert clocks["arrival"].deadline == at(25, 11, 30)
    assert clocks["restoration"].deadline == at(25, 14)


def test_remote_repair_reaches_the_site_in_two_hours_and_restores_power_in_five(db_session):
    order = make_order(db_session, "ST002-G06", demand_type="urgent", content="山区线路倒杆",
                       received_at=WED_10, by="admin")
    clocks = clocks_of(db_session, order.id)
    assert clocks["arrival"].deadline == at(25, 12) and clocks["restoration"].deadline == at(25, 15)


def test_a_repair_called_in_on_sunday_night_is_due_within_45_minutes_all_the_same(db_session):
    sunday_night = at(29, 23, 30)
    order = make_order(db_session, "ST001-G01", demand_type="urgent", content="小区停电",
                       received_at=sunday_night)
    assert clocks_of(db_session, order.id)["arrival"].deadline == at(30, 0, 15)


def test_arrival_position_must_be_a_place_on_earth(db_session, api_as):
    order = make_order(db_session, "ST001-G01", demand_type="urgent", content="线路断线", received_at=WED_10)
    act_as(api_as, "leader1", order.id, "dispatch", at(25, 10, 2), assignee="manager1")
    refused = act_as(api_as, "manager1", order.id, "arrive", at(25, 10, 20), latitude=123.0, longitude=120.0)
    assert refused.status_code == 400 and refused.get_json()["field"] == "latitude"


# --- suspended time ---------------------------------------------------------------------------
def _suspended_for_a_working_day(session):  # type: ignore[no-untyped-def]
    order = make_order(session, "ST001-G01", received_at=WED_10)  # service request: 3 working days
    advance(session, order, ("dispatch", "leader1", {"assignee": "manager1"}), now=at(25, 10, 30))
    advance(session, order, ("suspend", "manager1", {"reason": "客户出差，约定明天上门"}), now=at(25, 11))
    advance(session, order, ("resume", "manager1", {}), now=at(26, 11))
    return order


def test_warning_percentages_leave_out_suspended_time(db_session, login_as):
    order = _suspended_for_a_working_day(db_session)
    assert clocks_of(db_session, order.id)["completion"].deadline == at(31, 10)  # Tuesday 1 December

    # Friday 10:00: two working days since registration, one of them suspended → 1 of 3 used.
    friday = at(27, 10).astimezone(dt.timezone.utc)
    sweep_at(db_session, friday)
    db_session.commit()
    assert warnings_of(db_session, order.id) == []
    sweep_at(db_session, at(27, 22, 30))  # 1.5 of 3 working days used
    db_session.commit()
    assert warnings_of(db_session, order.id) == [("completion", "50")]

    with time_machine.travel(friday, tick=False):
        page = login_as("leader1").get(f"/workorderview/show/{order.id}").get_data(as_text=True)
    assert 'data-percent="33"' in page


def test_escalation_passes_over_a_suspended_order(db_session):
    save(db_session, "escalation", "超期督办", [
        rule("超期", {"all": [cond("hours_to_deadline", "less_than", 0)]}, act("raise_supervision"))])
    running = make_order(db_session, "ST001-G01", received_at=WED_10)
    paused = make_order(db_session, "ST001-G02", received_at=WED_10)
    advance(db_session, paused, ("dispatch", "leader1", {"assignee": "manager1"}), now=at(25, 11))
    advance(db_session, paused, ("suspend", "manager1", {"reason": "等待客户提供材料"}), now=at(25, 12))

    done = run_escalation(db_session, at(31, 12).astimezone(dt.timezone.utc))  # both past Monday 10:00
    db_session.commit()
    assert [d.number for d in done] == [running.number]
    assert db_session.get(WorkOrder, paused.id).supervision_level == "none"


def test_escalation_by_hours_counts_working_hours(db_session):
    save(db_session, "escalation", "临期", [
        rule("一天内到期", {"all": [cond("hours_to_deadline", "less_than", 24)]}, act("raise_supervision"))])
    order = make_order(db_session, "ST001-G01", received_at=WED_10)  # due Monday 30 November 10:00
    # Saturday noon: 46 hours away on the wall clock, but only 10 working hours.
    done = run_escalation(db_session, at(28, 12).astimezone(dt.timezone.utc))
    assert [d.number for d in done] == [order.number]


def test_a_rule_may_count_hours_round_the_clock_instead(db_session):
    save(db_session, "escalation", "临期", [
        rule("一天内到期", {"all": [cond("calendar_hours_to_deadline", "less_than", 24)]},
             act("raise_supervision"))])
    make_order(db_session, "ST001-G01", received_at=WED_10)
    assert run_escalation(db_session, at(28, 12).astimezone(dt.timezone.utc)) == []


# --- configuration in the browser -------------------------------------------------------------
def test_an_administrators_clock_target_changes_the_next_orders_clocks(db_session, login_as):
    before = make_order(db_session, "ST001-G01", demand_type="consultation", content="咨询峰谷电价",
                        received_at=WED_10)
    assert clocks_of(db_session, before.id)["contact"].deadline == at(26, 10)  # 1 working day

    admin = login_as("admin")
    form = admin.get("/clocktargetview/add")
    assert form.status_code == 200 and "诉求类型" in form.get_data(as_text=True)
    saved = admin.post("/clocktargetview/add", data={
        "csrf_token": csrf_from(form.get_data(as_text=True)), "demand_type": "consultation",
        "kind": "contact", "area_class": "any", "amount": "4", "unit": "hours", "active": "y",
        "note": "咨询类四小时内回电"}, follow_redirects=True)
    assert saved.status_code == 200
    assert "咨询类四小时内回电" in admin.get("/clocktargetview/list/").get_data(as_text=True)

    db_session.rollback()
    after = make_order(db_session, "ST001-G01", demand_type="consultation", content="咨询电费账单",
                       received_at=WED_10)
    assert clocks_of(db_session, after.id)["contact"].deadline == at(25, 14)
    # the order registered before keeps the allowance it was given
    assert clocks_of(db_session, before.id)["contact"].deadline == at(26, 10)


def test_a_clock_target_saved_in_another_process_applies_within_the_cache_seconds(app, db_session):
    from app import clock
    from app.models.clocks import ClockTarget

    before = make_order(db_session, "ST001-G01", demand_type="consultation", content="咨询峰谷电价",
                        received_at=WED_10)  # the targets of consultations are now kept here
    assert clocks_of(db_session, before.id)["contact"].deadline == at(26, 10)
    # Saved by another gunicorn worker: this process is not told.
    db_session.add(ClockTarget(demand_type="consultation", kind="contact", area_class="any", amount=4,
                               unit="hours", round_the_clock=False, active=True))
    db_session.commit()
    later = clock.now() + dt.timedelta(seconds=app.config["CLOCK_TARGETS_CACHE_SECONDS"] + 1)
    with time_machine.travel(later, tick=True):
        after = make_order(db_session, "ST001-G01", demand_type="consultation", content="咨询电费账单",
                           received_at=WED_10)
    assert clocks_of(db_session, after.id)["contact"].deadline == at(25, 14)


def test_a_working_day_target_cannot_run_round_the_clock(db_session, login_as):
    admin = login_as("admin")
    form = admin.get("/clocktargetview/add").get_data(as_text=True)
    page = admin.post("/clocktargetview/add", data={
        "csrf_token": csrf_from(form), "demand_type": "report", "kind": "contact", "area_class": "any",
        "amount": "2", "unit": "working_days", "round_the_clock": "y", "active": "y"}, follow_redirects=True)
    assert "工作日按法定日历计算" in page.get_data(as_text=True)
    db_session.rollback()
    assert make_order(db_session, "ST001-G01", demand_type="report", content="举报窃电",
                      received_at=WED_10).deadline is not None
    assert clocks_of(db_session, db_session.scalars(select(WorkOrder.id)).one())["contact"].deadline == at(26, 10)


def test_the_order_list_shows_the_nearest_open_clock_and_its_time_left(db_session, login_as):
    order = make_order(db_session, "ST001-G01", demand_type="urgent", content="路灯线路冒火花",
                       received_at=WED_10)
    with time_machine.travel(at(25, 10, 20), tick=False):
        html = login_as("leader1").get("/workorderview/list/").get_data(as_text=True)
    row = html[html.index(f'data-id="{order.id}"'):]
    row = row[:row.index("</tr>")]
    assert 'data-clock="arrival"' in row and "到达现场" in row and "剩余 25 分钟" in row


# --- indicators --------------------------------------------------------------------------------
def _two_november_repairs(session):  # type: ignore[no-untyped-def]
    """Two urban repairs of 25 November: one reached at 10:30 (in time), one at 10:50 (late)."""
    for grid, arrived in (("ST001-G01", at(25, 10, 30)), ("ST001-G04", at(25, 10, 50))):
        order = make_order(session, grid, demand_type="urgent", content="停电抢修", received_at=WED_10)
        manager = "manager1" if grid == "ST001-G01" else "manager2"
        advance(session, order, ("dispatch", "leader1", {"assignee": manager}), now=at(25, 10, 2))
        advance(session, order, ("accept", manager, {}), now=at(25, 10, 5))
        advance(session, order, ("arrive", manager, {}), now=arrived)
        advance(session, order, ("resolve", manager, {"resolution": "已恢复供电"}), now=at(25, 12))


def test_the_dashboard_reports_each_clocks_timely_rate(db_session, login_as):
    _two_november_repairs(db_session)
    html = login_as("director1").get("/dashboard/?month=2026-11").get_data(as_text=True)
    rates = dict(re.findall(r'class="clock-rate" data-clock="(\w+)" data-value="([^"]*)"', html))
    assert rates == {"arrival": "0.5", "restoration": "1.0", "completion": "1.0"}
    assert "各项时限及时率" in html and "到达现场" in html
    assert kpi_value(html, "timely-rate") == "0.5"  # the late arrival makes its order untimely


def test_the_monthly_report_lists_each_clocks_timely_rate(app, db_session, tmp_path):
    from tests.test_reports_pdf import pdf_text

    _two_november_repairs(db_session)
    out = tmp_path / "st001-2026-11.pdf"
    result = app.test_cli_runner().invoke(args=["gridcare", "report", "evaluation", "--month", "2026-11",
                                                "--station", "ST001", "--out", str(out)])
    assert result.exit_code == 0, result.output
    flat = "".join(pdf_text(out).split())
    assert "到达现场2150.0%" in flat and "恢复送电22100.0%" in flat  # met, in time, rate


def kpi_value(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}" data-value="([^"]*)"', html)
    assert match, element_id
    return match.group(1)
