"""Demo data of the jobs domain: the default job definitions and one policy announcement.
Repeatable: nothing is added twice."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.jobs.scheduler import ensure_default_jobs
from app.models.announcement import Announcement
from app.models.base import utcnow

DEMO_TITLE = "关于调整居民阶梯电价第二档起点的通知"


def seed_jobs(session: Session) -> None:
    ensure_default_jobs(session)
    if session.scalar(select(Announcement.id).where(Announcement.title == DEMO_TITLE)) is None:
        session.add(Announcement(
            title=DEMO_TITLE,
            body="自2027年1月1日起，居民阶梯电价第二档起点由每月230千瓦时调整为260千瓦时。"
                 "请各台区经理在走访中向客户解释，并在客户询问时耐心答复。",
            publish_from=utcnow() - dt.timedelta(days=1),
        ))
    session.commit()
