"""Keyset pages of work orders in the caller's scope, newest first, at a cost that does not
grow with the table.

``(grid_id = 13 OR assignee_id = 14) ORDER BY id DESC LIMIT 21`` has no index to read in
that order, so a database walks the primary key backwards and filters: on a province's
table a district manager's first page read every order newer than their newest one
(1,009,980 rows and 256 ms on PostgreSQL after a big station's million orders were added,
issue 18). Instead each value of the scope is read apart, newest first from an index that
ends in the id (``ix_work_order_<column>_id``, migration 0025) and cut at the page's size;
the page is the newest of their union. The scope's own clause is applied again to the rows
read, so a page never shows more than ``Actor.order_clause`` allows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select, union

from app.models.workorder import WorkOrder
from app.workflow.actor import Actor


def newest_in_scope(query: Select, actor: Actor, conditions: list[Any], size: int) -> Select:
    """``query`` (a select from ``work_order``) cut to the ``size`` newest orders of the
    actor's scope that meet ``conditions``, newest first."""
    query = query.where(actor.order_clause(WorkOrder), *conditions).order_by(WorkOrder.id.desc()).limit(size)
    scope = actor.order_scope(WorkOrder)
    if scope is None:  # every order: the primary key is already in the page's order
        return query
    branches = [select(WorkOrder.id).where(column == value, *conditions).order_by(WorkOrder.id.desc()).limit(size)
                for column, values in scope for value in values]
    if not branches:
        return query.where(false())
    if len(branches) == 1:  # one value: its index is already in the page's order
        return query
    # Each branch in a subquery of its own: SQLite and MariaDB take ORDER BY … LIMIT in a
    # UNION's member only there.
    ids = union(*(select(branch.subquery().c.id) for branch in branches)).subquery("page_ids")
    return query.join(ids, ids.c.id == WorkOrder.id)
