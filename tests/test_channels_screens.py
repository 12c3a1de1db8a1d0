"""Channel screens as their users meet them: keys, rosters, registration at a point, the
supermarket map, city calls, per-channel lists, duplicates, the public request form."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import func, select

from app.models.channel import (
    ChannelApiKey,
    DuplicateReview,
    DutyShift,
    LoveSupermarket,
    OrderOrigin,
    ServicePoint,
)
from app.models.workorder import WorkOrder
from app.workflow.calendar import LOCAL_TZ
from tests.conftest import csrf_from
from tests.factories import grid, make_order, staff

TODAY = dt.datetime.now(LOCAL_TZ).date()


def make_point(db_session, name="城东便民服务点", grid_code="ST001-G01") -> ServicePoint:
    g = grid(db_session, grid_code)
    point = ServicePoint(name=name, station_id=g.station_id, grid_id=g.id, address="示范县城东大道9号",
                         latitude=Decimal("30.270000"), longitude=Decimal("120.150000"),
                         opening_hours="08:30-17:30", contact_name="刘受理", contact_phone="0571-88886666")
    db_session.add(point)
    db_session.commit()
    return point


def make_supermarket(db_session, name, grid_code, person=None, lat="30.27", lon="120.15"):
    g = grid(db_session, grid_code)
    market = LoveSupermarket(name=name, station_id=g.station_id, grid_id=g.id, address=f"{g.name}社区",
                             latitude=Decimal(lat), longitude=Decimal(lon),
                             person_in_charge_id=staff(db_session, person).id if person else None,
                             staffing_needs="周末志愿者2名", services_offered="代缴电费、安全用电宣传")
    db_session.add(market)
    db_session.commit()
    return market


def form_post(client, url, **fields):
    page = client.get(url)
    assert page.status_code == 200, url
    return client.post(url, data={"csrf_token": csrf_from(page.get_data(as_text=True)), **fields},
                       follow_redirects=True)


# --- API keys ---------------------------------------------------------------------------
def test_admin_creates_a_key_in_the_browser_shown_once_and_revokes_it(login_as, client, db_session):
    admin = login_as("admin")
    page = form_post(admin, "/channelapikeyview/create", channel="oa_demand", name="OA 系统")
    html = page.get_data(as_text=True)
    key = re.search(r'id="new-api-key">([^<]+)<', html).group(1)
    db_session.rollback()
    stored = db_session.scalar(select(ChannelApiKey))
    assert stored.channel == "oa_demand" and key not in stored.key_hash and stored.key_hash != key
    listing = admin.get("/channelapikeyview/list/").get_data(as_text=True)
    assert stored.prefix in listing and key not in listing

    body = {"external_id": "OA-7", "demand_type": "consultation", "content": "咨询新装流程",
            "phone": "13800001111", "received_at": "2026-11-28T09:30:00+08:00"}
    assert client.post("/api/v1/intake/oa_demand", json=body, headers={"X-API-Key": key}).status_code == 201
    token = csrf_from(admin.get("/channelapikeyview/list/").get_data(as_text=True))
    admin.post("/channelapikeyview/action_post", data={"action": "revoke", "rowid": [stored.id],
                                                       "csrf_token": token})
    assert client.post("/api/v1/intake/oa_demand", json=body, headers={"X-API-Key": key}).status_code == 401


def test_key_screens_are_for_administrators_only(login_as):
    assert login_as("leader1").get("/channelapikeyview/create").status_code in (302, 403)
    assert login_as("director1").get("/channelapikeyview/list/").status_code in (302, 403)


def test_cli_prints_a_new_key_once(app, db_session):
    result = app.test_cli_runner().invoke(args=["gridcare", "apikey", "create", "--channel", "hotline_12345"])
    assert result.exit_code == 0, result.output
    plain = result.output.strip().splitlines()[-1]
    assert plain.startswith("gck_")
    db_session.rollback()
    stored = db_session.scalar(select(ChannelApiKey))
    assert stored.channel == "hotline_12345" and plain not in (stored.key_hash, stored.prefix)
    bad = app.test_cli_runner().invoke(args=["gridcare", "apikey", "create", "--channel", "fax"])
    assert bad.exit_code != 0 and "unknown channel" in bad.output


# --- rosters and registration at a point -------------------------------------------------
def test_leader_sets_a_roster_and_a_conflicting_shift_is_refused_with_a_message(login_as, db_session):
    east = make_point(db_session)
    west = make_point(db_session, "城东二号便民服务点", "ST001-G04")
    operator = staff(db_session, "operator1")
    leader = login_as("leader1")
    page = form_post(leader, "/dutyshiftview/add", service_point=east.id, staff=operator.id,
                     day=TODAY.isoformat(), shift="morning", note="")
    assert page.status_code == 200
    page = form_post(leader, "/dutyshiftview/add", service_point=west.id, staff=operator.id,
                     day=TODAY.isoformat(), shift="morning", note="")
    html = page.get_data(as_text=True)
    assert "roster conflict" in html and east.name in html
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(DutyShift)) == 1
    # the afternoon at the other point is fine
    form_post(leader, "/dutyshiftview/add", service_point=west.id, staff=operator.id,
              day=TODAY.isoformat(), shift="afternoon", note="")
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(DutyShift)) == 2


def test_operator_on_duty_registers_a_demand_at_the_point_in_the_browser(login_as, db_session):
    point = make_point(db_session)
    db_session.add(DutyShift(service_point_id=point.id, staff_id=staff(db_session, "operator1").id,
                             day=TODAY, shift="morning"))
    db_session.commit()
    operator = login_as("operator1")
    page = form_post(operator, "/branchregistration/point", place=point.id, demand_type="service",
                     contact_name="赵阿姨", phone="13612345678", address="城东新村5幢",
                     customer_no="", content="想咨询峰谷电，顺便请上门看看电表")
    assert page.status_code == 200
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder))
    assert order.channel == "convenience_point" and order.grid.code == "ST001-G01"
    assert order.number in page.get_data(as_text=True)
    origin = db_session.scalar(select(OrderOrigin).where(OrderOrigin.order_id == order.id))
    assert origin.service_point_id == point.id
    listing = operator.get("/conveniencepointorderview/list/").get_data(as_text=True)
    assert order.number in listing


def test_operator_not_on_duty_cannot_register_at_the_point(login_as, db_session):
    point = make_point(db_session)
    operator = login_as("operator1")
    page = operator.get("/branchregistration/point").get_data(as_text=True)
    assert 'id="no-place"' in page
    response = operator.post("/branchregistration/point",
                             data={"csrf_token": csrf_from(operator.get("/workorderview/add").get_data(as_text=True)),
                                   "place": point.id, "demand_type": "service", "phone": "13612345678",
                                   "content": "x"}, follow_redirects=True)
    assert response.status_code in (200, 400)
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WorkOrder)) == 0


# --- love supermarkets ----------------------------------------------------------------------
def test_supermarket_map_shows_the_supermarkets_of_a_grid(login_as, db_session):
    a = make_supermarket(db_session, "城东1号爱心超市", "ST001-G01", "manager1")
    b = make_supermarket(db_session, "城东5号爱心超市", "ST001-G05", "manager2", lat="30.30", lon="120.20")
    other = make_supermarket(db_session, "城西爱心超市", "ST002-G01", "st2_manager1")
    leader = login_as("leader1")
    page = leader.get("/lovesupermarketview/map", query_string={"grid": a.grid_id})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert a.name in html and b.name not in html and other.name not in html
    assert "vendor/leaflet/leaflet.js" in html and 'data-tiles="no"' in html  # MAP_TILE_URL unset
    by_person = leader.get("/lovesupermarketview/map", query_string={"person": staff(db_session, "manager2").id})
    html = by_person.get_data(as_text=True)
    assert b.name in html and a.name not in html
    everything = leader.get("/lovesupermarketview/map").get_data(as_text=True)
    assert a.name in everything and b.name in everything and other.name not in everything
    assert leader.get("/static/vendor/leaflet/leaflet.js").status_code == 200


def test_district_manager_sees_only_the_supermarkets_of_own_grids(login_as, db_session):
    mine = make_supermarket(db_session, "城东1号爱心超市", "ST001-G01", "manager1")
    theirs = make_supermarket(db_session, "城东5号爱心超市", "ST001-G05", "manager2")
    html = login_as("manager1").get("/lovesupermarketview/list/").get_data(as_text=True)
    assert mine.name in html and theirs.name not in html


def test_map_tile_url_is_configurable(app, login_as, db_session):
    from app.channels.settings import settings

    make_supermarket(db_session, "城东1号爱心超市", "ST001-G01")
    previous = settings.map_tile_url
    settings.map_tile_url = "http://tiles.intranet.local/{z}/{x}/{y}.png"
    try:
        html = login_as("leader1").get("/lovesupermarketview/map").get_data(as_text=True)
    finally:
        settings.map_tile_url = previous
    assert "tiles.intranet.local" in html


# --- smart urban management -------------------------------------------------------------------
def test_district_manager_registers_a_city_call_for_own_grid(login_as, db_session):
    manager = login_as("manager1")
    g = grid(db_session, "ST001-G02")
    page = form_post(manager, "/citycall/register", place=g.id, demand_type="praise",
                     contact_name="钱大爷", phone="13711112222", address="", customer_no="",
                     content="感谢李台区经理连夜抢修")
    assert page.status_code == 200
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder))
    assert order.channel == "city_call" and order.demand_type == "praise" and order.grid_id == g.id
    other = grid(db_session, "ST001-G05")
    refused = form_post(manager, "/citycall/register", place=other.id, demand_type="complaint",
                        phone="13711112222", content="别人的台区")
    assert refused.status_code == 403
    assert login_as("operator1").get("/citycall/register").status_code in (302, 403)


def test_channel_list_shows_only_its_channel(login_as, db_session):
    hotline = make_order(db_session, channel="hotline_12345", content="12345转来的投诉")
    walk_in = make_order(db_session, channel="convenience_point", content="窗口登记的咨询")
    html = login_as("leader1").get("/hotline12345orderview/list/").get_data(as_text=True)
    assert hotline.number in html and walk_in.number not in html


def test_channel_lists_keep_row_scope(login_as, db_session):
    mine = make_order(db_session, "ST001-G01", channel="hotline_12345", content="一号台区")
    theirs = make_order(db_session, "ST001-G05", channel="hotline_12345", content="五号台区")
    html = login_as("manager1").get("/hotline12345orderview/list/").get_data(as_text=True)
    assert mine.number in html and theirs.number not in html


def test_leader_merges_a_flagged_duplicate_on_the_screen(login_as, db_session):
    first = make_order(db_session, channel="hotline_12345", content="楼道灯不亮好几天了",
                       phone="13800001111")
    again = make_order(db_session, channel="city_call", content="楼道灯好几天不亮了",
                       phone="13800001111")
    review = db_session.scalar(select(DuplicateReview))
    leader = login_as("leader1")
    listing = leader.get("/duplicatereviewview/list/").get_data(as_text=True)
    assert again.number in listing and first.number in listing
    leader.post("/duplicatereviewview/action_post",
                data={"action": "merge", "rowid": [review.id], "csrf_token": csrf_from(listing)})
    db_session.rollback()
    assert db_session.get(DuplicateReview, review.id).status == "merged"
    assert db_session.get(WorkOrder, again.id).parent_id == first.id


def test_channel_overview_counts_each_channels_orders_in_scope(login_as, db_session):
    make_order(db_session, "ST001-G01", channel="hotline_12345", content="一号台区投诉")
    make_order(db_session, "ST001-G02", channel="hotline_12345", content="二号台区咨询")
    make_order(db_session, "ST001-G05", channel="hotline_12345", content="五号台区咨询")
    make_order(db_session, "ST001-G01", channel="convenience_point", content="窗口登记")
    html = login_as("manager1").get("/channels/overview").get_data(as_text=True)
    assert re.search(r'data-channel="hotline_12345">.*?class="total">2<', html, re.S)
    assert re.search(r'data-channel="convenience_point">.*?class="total">1<', html, re.S)
    html = login_as("leader1").get("/channels/overview").get_data(as_text=True)
    assert re.search(r'data-channel="hotline_12345">.*?class="total">3<', html, re.S)


def test_duplicate_review_shows_both_timelines(login_as, db_session):
    first = make_order(db_session, channel="hotline_12345", content="楼道灯不亮好几天了",
                       phone="13800001111")
    again = make_order(db_session, channel="city_call", content="楼道灯好几天不亮了",
                       phone="13800001111")
    review = db_session.scalar(select(DuplicateReview))
    html = login_as("leader1").get(f"/duplicatereviewview/show/{review.id}").get_data(as_text=True)
    section = html[html.index('id="both-timelines"'):]
    assert first.number in section and again.number in section and "flag_duplicate" in section


def test_every_channel_screen_opens_for_the_roles_that_use_it(login_as, db_session):
    make_supermarket(db_session, "城东1号爱心超市", "ST001-G01", "manager1")
    pages = {
        "leader1": ["/servicepointview/list/", "/servicepointview/add", "/dutyshiftview/list/",
                    "/dutyshiftview/add", "/lovesupermarketview/list/", "/lovesupermarketview/add",
                    "/communityresidentview/list/", "/communityresidentview/add",
                    "/tasktemplateview/list/", "/tasktemplateview/add", "/duplicatereviewview/list/",
                    "/branchregistration/supermarket", "/channels/overview", "/taskorderview/list/"],
        "manager1": ["/citycall/register", "/lovesupermarketview/map", "/cityCallOrderView/list/".lower()],
        "operator1": ["/branchregistration/point", "/branchregistration/supermarket",
                      "/dutyshiftview/list/", "/servicepointview/list/", "/communityresidentview/add"],
        "admin": ["/channelapikeyview/list/", "/channelapikeyview/create", "/channelapikeyuseview/list/"],
    }
    for username, urls in pages.items():
        client = login_as(username)
        for url in urls:
            assert client.get(url).status_code == 200, (username, url)


def test_operators_cannot_manage_rosters_and_managers_cannot_open_the_roster(login_as):
    assert login_as("operator1").get("/dutyshiftview/add").status_code in (302, 403)
    assert login_as("manager1").get("/dutyshiftview/list/").status_code in (302, 403)


def test_operator_registers_a_demand_at_a_love_supermarket(login_as, db_session):
    market = make_supermarket(db_session, "城东1号爱心超市", "ST001-G02", "manager1")
    operator = login_as("operator1")
    page = form_post(operator, "/branchregistration/supermarket", place=market.id,
                     demand_type="report", contact_name="志愿者小陈", phone="13512340000",
                     address="", customer_no="", content="超市门口的电表箱门坏了")
    assert page.status_code == 200
    db_session.rollback()
    order = db_session.scalar(select(WorkOrder))
    assert order.channel == "love_supermarket" and order.grid_id == market.grid_id
    assert db_session.scalar(select(OrderOrigin.supermarket_id)) == market.id


def test_map_page_runs_under_the_content_security_policy(login_as, db_session):
    from app.channels.settings import tile_origin

    make_supermarket(db_session, "城东1号爱心超市", "ST001-G01")
    page = login_as("leader1").get("/lovesupermarketview/map")
    policy = page.headers.get("Content-Security-Policy", "")
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in page.get_data(as_text=True)
    assert "img-src 'self' data: blob:;" in policy  # no tile server unless MAP_TILE_URL names one
    assert tile_origin("http://10.1.2.3:8081/tiles/{z}/{x}/{y}.png") == "http://10.1.2.3:8081"
    assert tile_origin("/tiles/{z}/{x}/{y}.png") == ""
