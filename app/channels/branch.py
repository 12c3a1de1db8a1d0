"""Branch channels: duty rosters of convenience service points, registration of demands at
a point by the operator on duty, and at love supermarkets."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.base import utcnow
from app.models.channel import DutyShift, LoveSupermarket, OrderOrigin, ServicePoint, Shift
from app.models.org import StaffProfile
from app.models.workorder import Channel, WorkOrder
from app.workflow import service
from app.workflow.actor import Actor
from app.workflow.calendar import LOCAL_TZ
from app.workflow.errors import Forbidden, InvalidInput, NotFound, OutOfScope


def check_shift(session: Session, staff_id: int | None, point_id: int | None, day: dt.date | None,
                shift: str | None, shift_id: int | None = None) -> None:
    """Refuse a roster entry that puts one person in two places in one shift."""
    if staff_id is None or point_id is None or day is None or not shift:
        raise InvalidInput("point, person, day and shift are required", field="staff")
    try:
        Shift(shift)
    except ValueError:
        raise InvalidInput(f"unknown shift: {shift}", field="shift") from None
    point = session.get(ServicePoint, point_id)
    staff = session.get(StaffProfile, staff_id)
    if point is None or staff is None:
        raise InvalidInput("unknown point or person", field="staff")
    if staff.station_id != point.station_id:
        raise InvalidInput(f"{staff.name} does not belong to the station of {point.name}", field="staff")
    clash = session.scalar(
        select(DutyShift).where(DutyShift.staff_id == staff_id, DutyShift.day == day,
                                DutyShift.shift == shift,
                                DutyShift.id != (shift_id or 0)))
    if clash is not None:
        raise InvalidInput(
            f"roster conflict: {staff.name} is already on duty at {clash.service_point.name} "
            f"on {day.isoformat()} ({Shift.label_of(shift)})", field="staff")


def add_shift(session: Session, actor: Actor, point_id: int, staff_id: int, day: dt.date,
              shift: str, note: str | None = None) -> DutyShift:
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(f"service point {point_id} not found")
    if not actor.is_admin and point.station_id != actor.station_id:
        raise OutOfScope("the point is outside your station")
    check_shift(session, staff_id, point_id, day, shift)
    entry = DutyShift(service_point_id=point_id, staff_id=staff_id, day=day, shift=shift, note=note)
    session.add(entry)
    session.flush()
    return entry


def points_on_duty(session: Session, staff_id: int | None, now: dt.datetime | None = None) -> list[ServicePoint]:
    """The points where this person is on the roster today (local date)."""
    if staff_id is None:
        return []
    today = (now or utcnow()).astimezone(LOCAL_TZ).date()
    return list(session.scalars(
        select(ServicePoint).join(DutyShift, DutyShift.service_point_id == ServicePoint.id)
        .where(DutyShift.staff_id == staff_id, DutyShift.day == today, ServicePoint.active.is_(True))
        .distinct().order_by(ServicePoint.name)))


def register_at_point(session: Session, actor: Actor, point_id: int, *, demand_type: str,
                      content: str, contact_name: str | None = None, phone: str | None = None,
                      address: str | None = None, customer_no: str | None = None,
                      now: dt.datetime | None = None) -> WorkOrder:
    """A walk-in at a convenience point, registered by the operator on duty there."""
    point = session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(f"service point {point_id} not found")
    if not actor.is_admin and point not in points_on_duty(session, actor.staff_id, now):
        raise Forbidden(f"you are not on duty at {point.name} today")
    order = service.register_order(
        session, actor, channel=Channel.CONVENIENCE_POINT.value, demand_type=demand_type,
        content=content, contact_name=contact_name, phone=phone, address=address,
        customer_no=customer_no or None,
        grid_id=None if customer_no else point.grid_id, now=now,
    )
    session.add(OrderOrigin(order_id=order.id, service_point_id=point.id))
    return order


def register_at_supermarket(session: Session, actor: Actor, supermarket_id: int, *,
                            demand_type: str, content: str, contact_name: str | None = None,
                            phone: str | None = None, customer_no: str | None = None,
                            now: dt.datetime | None = None) -> WorkOrder:
    market = session.get(LoveSupermarket, supermarket_id)
    if market is None:
        raise NotFound(f"love supermarket {supermarket_id} not found")
    if not actor.can_see_grid(market.grid_id, market.station_id):
        raise OutOfScope("the supermarket is outside your scope")
    order = service.register_order(
        session, actor, channel=Channel.LOVE_SUPERMARKET.value, demand_type=demand_type,
        content=content, contact_name=contact_name, phone=phone, address=market.address,
        customer_no=customer_no or None, grid_id=None if customer_no else market.grid_id, now=now,
    )
    session.add(OrderOrigin(order_id=order.id, supermarket_id=market.id))
    return order
