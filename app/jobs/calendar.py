"""The statutory calendar's watch (scheduled daily): from 1 November, every administrator is
notified once a day until next year's arrangement is entered (and, after New Year, while the
current year's is missing).  Computed with the tick's time, never the wall clock."""

from __future__ import annotations

import datetime as dt

from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.notification import Notification
from app.workflow import calendar
from app.workflow.actor import ADMIN

WARN_FROM_MONTH = 11


def missing_years(today: dt.date) -> list[int]:
    """The years whose arrangement an administrator should enter now."""
    years = [today.year] + ([today.year + 1] if today.month >= WARN_FROM_MONTH else [])
    return [year for year in years if not calendar.year_complete(year)]


def calendar_watch_job(session: Session, now: dt.datetime) -> dict[str, int]:
    calendar.invalidate()  # another process may have entered the year
    local = now.astimezone(calendar.LOCAL_TZ)
    missing = missing_years(local.date())
    if not missing:
        return {"missing": 0, "notified": 0}
    day_start = dt.datetime.combine(local.date(), dt.time(0), tzinfo=calendar.LOCAL_TZ)
    admins = session.scalars(select(User).join(User.roles).where(Role.name == ADMIN, User.active.is_(True))).all()
    years = "、".join(str(y) for y in missing)
    notified = 0
    for admin in admins:
        already = session.scalar(select(Notification.id).where(
            Notification.user_id == admin.id, Notification.kind == "calendar",
            Notification.created_at >= day_start).limit(1))
        if already is not None:
            continue  # once a day is enough
        session.add(Notification(
            user_id=admin.id, kind="calendar", title=f"{years} 年法定节假日安排尚未录入",
            body=f"{years} 年的节假日与调休上班日尚未录入并标记完整：涉及这些日期的处理时限按周一至周五计算，"
                 "标为“暂定”。请在“设置 → 法定节假日”中录入或导入。",
            link="/calendar/", created_at=now))
        notified += 1
    session.commit()
    return {"missing": len(missing), "notified": notified}
