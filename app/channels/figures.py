"""Each channel's own figures: orders, open, resolved, timely rate, duplicates, grouped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.models.workorder import OPEN_STATES, Channel, WorkOrder
from app.workflow.actor import Actor


@dataclass
class ChannelFigures:
    channel: str
    total: int = 0
    open: int = 0
    resolved: int = 0
    timely: int = 0
    duplicates: int = 0
    children: int = 0

    @property
    def timely_rate(self) -> float | None:
        return self.timely / self.resolved if self.resolved else None


def channel_figures(session: Session, actor: Actor, start: dt.datetime | None = None,
                    end: dt.datetime | None = None) -> list[ChannelFigures]:
    """Figures per channel of the orders registered in [start, end) within the actor's scope."""
    one = 1
    query = select(
        WorkOrder.channel,
        func.count(),
        func.sum(case((WorkOrder.state.in_(OPEN_STATES), one), else_=0)),
        func.sum(case((WorkOrder.resolved_at.is_not(None), one), else_=0)),
        func.sum(case((WorkOrder.timely.is_(True), one), else_=0)),
        func.sum(case((WorkOrder.duplicate_of_id.is_not(None), one), else_=0)),
        func.sum(case((WorkOrder.parent_id.is_not(None), one), else_=0)),
    ).where(actor.order_clause(WorkOrder)).group_by(WorkOrder.channel)
    if start is not None:
        query = query.where(WorkOrder.registered_at >= start)
    if end is not None:
        query = query.where(WorkOrder.registered_at < end)
    found = {row[0]: row for row in session.execute(query)}
    figures = []
    for channel in Channel:
        row = found.get(channel.value)
        if row is None:
            figures.append(ChannelFigures(channel.value))
        else:
            figures.append(ChannelFigures(channel.value, *(int(v or 0) for v in row[1:])))
    return figures
