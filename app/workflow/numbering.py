"""Readable, unique order numbers: GD + local date + a per-day sequence (GD20261128-0001)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.workorder import OrderNumberCounter
from app.workflow.calendar import LOCAL_TZ


def next_order_number(session: Session, now: dt.datetime, prefix: str = "GD") -> str:
    day = now.astimezone(LOCAL_TZ).date()
    if session.get(OrderNumberCounter, day) is None:
        # Two first orders of the day may race to create the counter: the loser's
        # savepoint rolls back and it increments the winner's row instead.
        try:
            with session.begin_nested():
                session.add(OrderNumberCounter(day=day, value=0))
        except IntegrityError:
            pass
    # The UPDATE takes the row lock, so concurrent registrations get distinct values.
    session.execute(
        update(OrderNumberCounter)
        .where(OrderNumberCounter.day == day)
        .values(value=OrderNumberCounter.value + 1)
        .execution_options(synchronize_session=False)
    )
    value = session.scalar(select(OrderNumberCounter.value).where(OrderNumberCounter.day == day))
    return f"{prefix}{day:%Y%m%d}-{value:04d}"
