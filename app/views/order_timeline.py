"""The order page's timeline: read in one query, folded when long.

An order urged, called back and transferred for weeks gathers hundreds of steps. Staff read how
it started and what happened last, so a long timeline shows its first step and its latest
``LATEST`` steps, with one row saying how many are folded between them and a link that shows
them all (``?timeline=all``). One statement returns the shown steps, each with its position,
and the total (window functions: PostgreSQL, MariaDB 10.2+, SQLite 3.25+)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from app.models.workorder import WorkOrderEvent

FOLD_ABOVE = 40  # a timeline of up to this many steps is shown whole
LATEST = 30  # of a longer one: the first step, then the latest LATEST


@dataclass
class Timeline:
    steps: list[tuple[int, WorkOrderEvent]]  # (position on the timeline from 1, step)
    total: int

    @property
    def folded(self) -> int:
        """Steps left out between the first and the latest."""
        return self.total - len(self.steps)

    @property
    def foldable(self) -> bool:
        return self.total > FOLD_ABOVE


def read(session: Any, order_id: int, whole: bool = False) -> Timeline:
    numbered = (select(WorkOrderEvent.id.label("event_id"),
                       func.row_number().over(order_by=WorkOrderEvent.id).label("step"),
                       func.count().over().label("total"))
                .where(WorkOrderEvent.order_id == order_id).subquery())
    query = (select(WorkOrderEvent, numbered.c.step, numbered.c.total)
             .join(numbered, numbered.c.event_id == WorkOrderEvent.id)
             .order_by(numbered.c.step))
    if not whole:
        query = query.where(or_(numbered.c.total <= FOLD_ABOVE, numbered.c.step == 1,
                                numbered.c.step > numbered.c.total - LATEST))
    rows = session.execute(query).all()
    return Timeline(steps=[(int(step), event) for event, step, _ in rows],
                    total=int(rows[0].total) if rows else 0)
