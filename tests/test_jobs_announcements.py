"""Policy announcements: published in the browser to stations and roles inside a window,
read in the mobile app with a receipt the publisher sees, attachments downloadable."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import select

from app.models.announcement import Announcement, AnnouncementRead
from app.models.org import Station
from tests.conftest import csrf_from

pytestmark = pytest.mark.date_sensitive


def _publish(client, session, title: str, *, stations=(), roles=(), start=None, until=None):  # type: ignore[no-untyped-def]
    page = client.get("/announcementview/add")
    assert page.status_code == 200
    station_ids = [str(session.scalar(select(Station.id).where(Station.code == c))) for c in stations]
    role_ids = [str(session.scalar(select(Role.id).where(Role.name == r))) for r in roles]
    start = start or dt.datetime.now() - dt.timedelta(hours=1)
    data = {"csrf_token": csrf_from(page.get_data(as_text=True)), "title": title,
            "body": "自2027年1月1日起，居民阶梯电价第二档起点调整为每月260千瓦时。",
            "publish_from": start.strftime("%Y-%m-%d %H:%M:%S"),
            "publish_until": until.strftime("%Y-%m-%d %H:%M:%S") if until else "",
            "stations": station_ids, "roles": role_ids}
    response = client.post("/announcementview/add", data=data, follow_redirects=True)
    assert response.status_code == 200
    session.rollback()
    found = session.scalar(select(Announcement).where(Announcement.title == title))
    assert found is not None, response.get_data(as_text=True)[-3000:]
    return found


def test_an_announcement_reaches_its_stations_and_roles_and_records_who_read_it(app, db_session, login_as, api_as):
    director = login_as("director1")
    notice = _publish(director, db_session, "阶梯电价调整通知", stations=["ST001"], roles=["DistrictManager"])

    manager = api_as("manager1")
    listed = manager.get("/api/v1/announcement/").get_json()
    assert [a["title"] for a in listed["result"]] == ["阶梯电价调整通知"] and listed["unread"] == 1
    assert api_as("st2_manager1").get("/api/v1/announcement/").get_json()["result"] == []  # other station
    assert api_as("operator1").get("/api/v1/announcement/").get_json()["result"] == []  # other role
    assert api_as("operator1").get(f"/api/v1/announcement/{notice.id}").status_code == 404

    detail = manager.get(f"/api/v1/announcement/{notice.id}").get_json()["result"]
    assert "260千瓦时" in detail["body"] and detail["read"] is False
    first = manager.post(f"/api/v1/announcement/{notice.id}/read")
    again = manager.post(f"/api/v1/announcement/{notice.id}/read")
    assert first.status_code == 200 and first.get_json()["read_at"] == again.get_json()["read_at"]
    assert manager.get("/api/v1/announcement/").get_json()["unread"] == 0
    db_session.rollback()
    assert len(db_session.scalars(select(AnnouncementRead)).all()) == 1

    # manager2 reads it on screen; the publisher sees both receipts.
    screen = login_as("manager2")
    assert "阶梯电价调整通知" in screen.get("/announcements/").get_data(as_text=True)
    assert "260千瓦时" in screen.get(f"/announcements/{notice.id}").get_data(as_text=True)
    receipts = director.get(f"/announcementview/show/{notice.id}").get_data(as_text=True)
    assert receipts.count('class="receipt"') == 2 and "manager1" in receipts and "manager2" in receipts


def test_attachments_upload_on_screen_and_download_in_the_app(app, db_session, login_as, api_as):
    director = login_as("director1")
    notice = _publish(director, db_session, "光伏并网政策")
    page = director.get(f"/announcementview/show/{notice.id}").get_data(as_text=True)
    content = "%PDF-1.4 policy".encode()
    uploaded = director.post(f"/announcementview/attach/{notice.id}", content_type="multipart/form-data",
                             data={"csrf_token": csrf_from(page), "file": (io.BytesIO(content), "政策.pdf")})
    assert uploaded.status_code == 302

    detail = api_as("operator1").get(f"/api/v1/announcement/{notice.id}").get_json()["result"]
    assert [a["filename"] for a in detail["attachments"]] == ["政策.pdf"]
    download = api_as("operator1").get(detail["attachments"][0]["url"])
    assert download.status_code == 200 and download.data == content


def test_announcements_outside_their_window_are_not_shown(app, db_session, login_as, api_as):
    director = login_as("director1")
    now = dt.datetime.now()
    _publish(director, db_session, "明日停电检修预告", start=now + dt.timedelta(days=1))
    _publish(director, db_session, "已过期通知", start=now - dt.timedelta(days=3),
             until=now - dt.timedelta(days=1))
    _publish(director, db_session, "当前通知")
    titles = [a["title"] for a in api_as("leader1").get("/api/v1/announcement/").get_json()["result"]]
    assert titles == ["当前通知"]


def test_a_station_manager_can_aim_only_at_their_own_station(app, db_session, login_as):
    html = login_as("director1").get("/announcementview/add").get_data(as_text=True)
    assert "城东供电所" in html and "城西供电所" not in html
    assert "城西供电所" in login_as("admin").get("/announcementview/add").get_data(as_text=True)
