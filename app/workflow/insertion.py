"""A new work order and its clocks written with Core inserts, then handed to the session as
the unit of work would have left them after its flush.

A registration inserts one order and a few clocks; the unit of work around them (sorting
the mappers, collecting each object's history, the flush listeners, fetching the new ids)
cost about a third of an intake's CPU.  ``insert_order`` does what that flush did, in the
same transaction and with the same rows: the order's row (its columns' defaults and the
version counter's first value filled in, the provisional-deadline flag kept as the
``deadlines`` listener keeps it), its clocks' rows, and the audit entry of its creation with
the content the audit listener records.  The objects are then attached to the session as
persistent, so that what the hooks change afterwards (a repeat's link, an outage group) is
flushed as an UPDATE checked against the version, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, inspect
from sqlalchemy.orm import MANYTOONE, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app import audit
from app.models.clocks import WorkOrderClock
from app.models.workorder import WorkOrder
from app.workflow import deadlines


def insert_order(session: Session, order: WorkOrder) -> None:
    """INSERT the new (transient) ``order`` and its clocks; attach them to ``session``."""
    session.flush()  # what the caller added before goes in first, as in the one flush before
    # What the audit listener records is read before the flush fills in anything.
    changes = audit.creation_changes(order)
    _sync_many_to_one(order)
    row = _row(order, WorkOrder.__table__)
    if row["deadline"] is not None:
        deadlines.mark_provisional(order)
        row["deadline_provisional"] = order.deadline_provisional
    connection = session.connection()
    order.id = connection.execute(_INSERT_ORDER, _given(row)).inserted_primary_key[0]
    clocks = list(order.clocks)
    if clocks:
        rows = []
        for clock in clocks:
            clock.order_id = order.id
            rows.append(_row(clock, WorkOrderClock.__table__))
        if connection.dialect.insert_executemany_returning_sort_by_parameter_order:
            ids = connection.execute(_INSERT_CLOCKS_RETURNING, rows).scalars().all()
        else:
            ids = [connection.execute(_INSERT_CLOCK, row).inserted_primary_key[0] for row in rows]
        for clock, clock_id in zip(clocks, ids, strict=True):
            clock.id = clock_id
    audit.log_creation(session, order, changes)
    for obj in (order, *clocks):
        make_transient_to_detached(obj)
    session.add(order)  # its clocks come with it (cascade)


def _given(row: dict[str, Any]) -> dict[str, Any]:
    """The row without its NULLs (the columns left out are NULL all the same): a shorter
    statement, and under psycopg's limit of 50 parameters for reusing a parsed query."""
    return {key: value for key, value in row.items() if value is not None}


def _sync_many_to_one(obj: Any) -> None:
    """The foreign keys of the related objects set on ``obj`` (``customer=…``), as the flush
    copies them."""
    for relationship in inspect(obj).mapper.relationships:
        if relationship.direction is not MANYTOONE or relationship.key not in obj.__dict__:
            continue
        target = obj.__dict__[relationship.key]
        if target is None:
            continue
        for local, remote in relationship.local_remote_pairs:
            setattr(obj, local.key, getattr(target, remote.key))


def _row(obj: Any, table: Table) -> dict[str, Any]:
    """The row the unit of work would insert for ``obj`` (all columns but the id), and the
    same values left on the object: a column left unset, or set to None, takes its default."""
    mapper = inspect(obj).mapper
    row: dict[str, Any] = {}
    state = obj.__dict__
    for column in table.columns:
        if column.primary_key:
            continue
        key = mapper.get_property_by_column(column).key
        value = state.get(key)
        if value is None and column.default is not None:
            default = column.default
            value = default.arg(None) if default.is_callable else default.arg  # type: ignore[attr-defined]
        if key not in state or state[key] is not value:
            # as loaded: the object is about to become persistent with exactly this row
            set_committed_value(obj, key, value)
        row[column.key] = value
    return row


_INSERT_ORDER = WorkOrder.__table__.insert()
_INSERT_CLOCK = WorkOrderClock.__table__.insert()
_INSERT_CLOCKS_RETURNING = WorkOrderClock.__table__.insert().returning(
    WorkOrderClock.__table__.c.id, sort_by_parameter_order=True)
