"""Readable, unique order numbers: GD + local date + a per-day sequence (GD20261128-0001).

The per-day counter row would be a hot row if every registration incremented it in its own
transaction: each would hold the row's lock until it commits, so registrations would queue
one behind the other for the whole of their work.  On PostgreSQL a process instead
takes a block of ``ORDER_NUMBER_BLOCK`` numbers (20 by default) in a short transaction of its
own and hands them out itself.  Numbers stay unique and readable; they are no longer gap-free
nor strictly in registration order across processes (a block left when a worker stops or the
day ends is not used, and two workers draw from two blocks at once).  A block of 1 takes one
number per order, still outside the registration's transaction.

On SQLite writers are serialised by the database anyway (every transaction begins
IMMEDIATE), so the counter is incremented inside the registration's transaction, gap-free.
MySQL keeps that too: there the counter's row lock is what serialises registrations for the
duplicate and outage checks (on PostgreSQL, named locks do: ``app/workflow/locks.py``).
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models.workorder import OrderNumberCounter
from app.workflow.calendar import LOCAL_TZ

DEFAULT_BLOCK = 20
_block_size = DEFAULT_BLOCK
# (database URL, day) -> [next number, last number of the block]
_blocks: dict[tuple[str, dt.date], list[int]] = {}
_lock = threading.Lock()


def configure(config: object) -> None:
    global _block_size
    getter = getattr(config, "get", None)
    _block_size = max(1, int(getter("ORDER_NUMBER_BLOCK", DEFAULT_BLOCK) if getter else DEFAULT_BLOCK))


def forget() -> None:
    """Drop the blocks this process holds (a test that empties the counter table)."""
    with _lock:
        _blocks.clear()


def next_order_number(session: Session, now: dt.datetime, prefix: str = "GD") -> str:
    day = now.astimezone(LOCAL_TZ).date()
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        value = _from_block(bind.engine if isinstance(bind, Connection) else bind, day)
    else:
        value = _increment(session, day, 1)
    return f"{prefix}{day:%Y%m%d}-{value:04d}"


def _from_block(engine: Engine, day: dt.date) -> int:
    key = (str(engine.url), day)
    with _lock:
        block = _blocks.get(key)
        if block is not None and block[0] <= block[1]:
            value = block[0]
            block[0] += 1
            return value
        # Taken under the process's lock: the other threads of this worker wait for the block
        # (a few milliseconds) rather than each taking one of its own.
        size = _block_size
        with engine.connect() as conn:
            last = _reserve(conn, day, size)
        _blocks[key] = [last - size + 2, last]
        return last - size + 1


def _reserve(conn: Connection, day: dt.date, size: int) -> int:
    """Add ``size`` to the day's counter in a transaction of its own; the new value."""
    for attempt in range(3):
        try:
            with conn.begin():
                if conn.scalar(select(OrderNumberCounter.value).where(OrderNumberCounter.day == day)) is None:
                    conn.execute(OrderNumberCounter.__table__.insert().values(day=day, value=0))
                conn.execute(update(OrderNumberCounter).where(OrderNumberCounter.day == day)
                             .values(value=OrderNumberCounter.value + size))
                value = conn.scalar(select(OrderNumberCounter.value).where(OrderNumberCounter.day == day))
            assert value is not None
            return int(value)
        except IntegrityError:
            # Two first blocks of the day created the row at once: the loser takes the winner's.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _increment(session: Session, day: dt.date, size: int) -> int:
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
        .values(value=OrderNumberCounter.value + size)
        .execution_options(synchronize_session=False)
    )
    value = session.scalar(select(OrderNumberCounter.value).where(OrderNumberCounter.day == day))
    return int(value or 0)
