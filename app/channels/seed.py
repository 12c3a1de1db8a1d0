"""Demo data of the channels: convenience points with this week's roster, love supermarkets
on the map with residents and their points, and a weekly patrol task.  Repeatable."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models.channel import (
    CommunityResident,
    DutyShift,
    LoveSupermarket,
    ServicePoint,
    TaskTemplate,
)
from app.models.org import Grid, StaffProfile

# (name, grid, latitude, longitude)
POINTS = [("城东便民服务点", "ST001-G01", "30.2741", "120.1551"),
          ("城东新村便民服务点", "ST001-G04", "30.2810", "120.1702"),
          ("城西便民服务点", "ST002-G01", "30.2590", "120.1220")]
# (name, grid, latitude, longitude, person in charge (username))
SUPERMARKETS = [("城东电力爱心超市", "ST001-G02", "30.2766", "120.1603", "manager1"),
                ("幸福里电力爱心超市", "ST001-G05", "30.2850", "120.1755", "manager2"),
                ("城西电力爱心超市", "ST002-G03", "30.2555", "120.1188", "st2_manager1")]


def _staff(session: Session, username: str) -> StaffProfile | None:
    from flask_appbuilder.security.sqla.models import User

    return session.scalar(select(StaffProfile).join(User, User.id == StaffProfile.user_id)
                          .where(User.username == username))


def seed_channels(session: Session, today: dt.date | None = None) -> None:
    today = today or clock.today()
    grids = {g.code: g for g in session.scalars(select(Grid))}
    points = {}
    for name, code, lat, lon in POINTS:
        point = session.scalar(select(ServicePoint).where(ServicePoint.name == name))
        if point is None:
            grid = grids[code]
            point = ServicePoint(name=name, station_id=grid.station_id, grid_id=grid.id,
                                 address=f"{grid.name}服务中心", latitude=Decimal(lat),
                                 longitude=Decimal(lon), opening_hours="周一至周五 08:30-17:30",
                                 contact_name="值班受理员", contact_phone="0571-88880000")
            session.add(point)
            session.flush()
        points[name] = point
    for username, point_name in (("operator1", "城东便民服务点"), ("operator2", "城西便民服务点")):
        staff = _staff(session, username)
        if staff is None:
            continue
        for offset in range(7):
            day = today + dt.timedelta(days=offset)
            for shift in ("morning", "afternoon"):
                exists = session.scalar(select(DutyShift.id).where(
                    DutyShift.staff_id == staff.id, DutyShift.day == day, DutyShift.shift == shift))
                if exists is None:
                    session.add(DutyShift(service_point_id=points[point_name].id, staff_id=staff.id,
                                          day=day, shift=shift))
    for name, code, lat, lon, username in SUPERMARKETS:
        market = session.scalar(select(LoveSupermarket).where(LoveSupermarket.name == name))
        if market is None:
            grid = grids[code]
            person = _staff(session, username)
            market = LoveSupermarket(
                name=name, station_id=grid.station_id, grid_id=grid.id, address=f"{grid.name}社区中心",
                latitude=Decimal(lat), longitude=Decimal(lon),
                person_in_charge_id=person.id if person else None, contact_phone="13800000000",
                staffing_needs="周末志愿者 2 名", services_offered="代缴电费、安全用电宣传、旧电器回收",
                opening_hours="每天 09:00-18:00")
            session.add(market)
            session.flush()
            session.add(CommunityResident(supermarket_id=market.id, name="热心居民", phone="13900000000",
                                          balance=0))
    leader, manager = _staff(session, "leader1"), _staff(session, "manager1")
    if leader and manager and session.scalar(select(TaskTemplate.id).where(
            TaskTemplate.title == "每周台区巡视")) is None:
        session.add(TaskTemplate(title="每周台区巡视", kind="patrol", content="巡视台区变压器及低压线路",
                                 recurrence="weekly", station_id=manager.station_id,
                                 team_id=manager.team_id, assignee_id=manager.id,
                                 deadline_working_days=3, work_points=Decimal(5)))
    session.commit()
