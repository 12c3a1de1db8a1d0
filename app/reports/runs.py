"""Report runs: every active subscription's report rendered, archived and mailed.

The scheduler's daily tick calls ``monthly_reports_job`` with the tick's time: every month that
has ended (its report is due from the next month's ``first_working_day``) and that a
subscription has no archived report of yet is rendered, archived and mailed — so a missed
first working day is made up at the next run, exactly once.  It is safe to run again: a
subscription's month is rendered once, and a recipient already served is not mailed twice;
failed deliveries of the latest month are retried.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import mail
from app.indicators.period import Period, parse_month
from app.indicators.scope import Scope, build_scope
from app.models.report import (
    DeliveryStatus,
    ReportArchive,
    ReportDelivery,
    ReportKind,
    ReportScopeKind,
    ReportSubscription,
)
from app.reports.delivery import deliver
from app.reports.render import render_evaluation_pdf
from app.workflow.calendar import LOCAL_TZ, is_working_day

log = logging.getLogger(__name__)


def first_working_day(month: str | dt.date) -> dt.date:
    """The first working day (statutory calendar, make-up days included) of ``YYYY-MM``."""
    if isinstance(month, str):
        day = parse_month(month).start.astimezone(LOCAL_TZ).date()
    else:
        day = month.replace(day=1)
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def previous_month_label(now: dt.datetime) -> str:
    """The month a run on ``now`` reports on: the one before the current local month."""
    return parse_month(None, now).previous_month().label


def report_dir(config: Mapping[str, Any]) -> Path:
    folder = config.get("REPORT_DIR") or os.path.join(config.get("INSTANCE_PATH") or "instance", "reports")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def subscription_scope(session: Session, subscription: ReportSubscription) -> Scope:
    if subscription.scope_kind == ReportScopeKind.TEAM.value and subscription.team_id:
        return build_scope(session, "team", subscription.team_id)
    return build_scope(session, "station", subscription.station_id)


def archive_report(session: Session, scope: Scope, period: Period, now: dt.datetime, config: Mapping[str, Any],
                   subscription: ReportSubscription | None = None) -> ReportArchive:
    """Render the evaluation report of ``scope`` and keep it as a file and an archive row."""
    rendered = render_evaluation_pdf(session, scope, period, now, targets=config.get("REPORT_TARGETS"))
    digest = hashlib.sha256(rendered.pdf).hexdigest()
    safe_code = re.sub(r"[^A-Za-z0-9_-]", "_", scope.code or f"{scope.kind}{scope.id}")
    file_name = f"evaluation_{period.label}_{scope.kind}_{safe_code}_{digest[:8]}.pdf"
    (report_dir(config) / file_name).write_bytes(rendered.pdf)
    archive = ReportArchive(
        kind=ReportKind.EVALUATION_MONTHLY.value, month=period.label, scope_kind=scope.kind,
        station_id=scope.station_id, team_id=scope.team_id if scope.kind == "team" else None,
        subscription_id=subscription.id if subscription else None, title=rendered.title,
        file_name=file_name, size_bytes=len(rendered.pdf), sha256=digest,
        render_seconds=round(rendered.seconds, 3), generated_at=now,
    )
    session.add(archive)
    session.flush()
    return archive


def archive_path(archive: ReportArchive, config: Mapping[str, Any]) -> Path:
    return report_dir(config) / archive.file_name


@dataclass
class RunSummary:
    month: str
    due: int = 0  # subscriptions this run owed the month's report to
    rendered: int = 0
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (recipient, error)
    errors: list[str] = field(default_factory=list)  # subscriptions that could not be rendered


def run_monthly_reports(session: Session, month: str, now: dt.datetime, config: Mapping[str, Any],
                        subscriptions: list[ReportSubscription] | None = None) -> RunSummary:
    """Render, archive and mail the report of ``month`` (YYYY-MM) of every active subscription
    (or of those given).

    Commits after each subscription, so one failure (a refused mailbox, a report that cannot
    be rendered) never loses or blocks the work done for the others."""
    period = parse_month(month)
    summary = RunSummary(period.label)
    if subscriptions is None:
        subscriptions = list(session.scalars(select(ReportSubscription).where(
            ReportSubscription.active.is_(True)).order_by(ReportSubscription.id)))
    for subscription in subscriptions:
        _report_subscription(session, subscription, period, now, config, summary)
    return summary


def _report_subscription(session: Session, subscription: ReportSubscription, period: Period,
                         now: dt.datetime, config: Mapping[str, Any], summary: RunSummary) -> None:
    attempts = int(config.get("REPORT_MAIL_ATTEMPTS") or os.environ.get("REPORT_MAIL_ATTEMPTS", 3))
    backoff = float(config.get("REPORT_MAIL_BACKOFF_SECONDS") if config.get("REPORT_MAIL_BACKOFF_SECONDS") is not None
                    else os.environ.get("REPORT_MAIL_BACKOFF_SECONDS", 5))
    smtp_url = config.get("SMTP_URL") or ""
    outbox = config.get("OUTBOX_DIR") or "instance/outbox"
    try:
        archive = session.scalar(select(ReportArchive).where(
            ReportArchive.subscription_id == subscription.id, ReportArchive.month == period.label))
        if archive is None:
            archive = archive_report(session, subscription_scope(session, subscription), period, now,
                                     config, subscription)
            summary.rendered += 1
        session.commit()
    except Exception as error:  # one broken subscription must not stop the run
        session.rollback()
        log.exception("report of subscription %s could not be rendered", subscription.id)
        summary.errors.append(f"{subscription.name}: {error}")
        return
    pdf = archive_path(archive, config).read_bytes()

    def message_for(recipient: str, archive: ReportArchive = archive, pdf: bytes = pdf) -> Any:
        return mail.build_message(
            recipient, archive.title,
            f"您好：\n\n附件是 {archive.title}（{period.label}），请查收。\n\nGridCare 供电所客户服务平台",
            attachments=[(archive.file_name, pdf, "application/pdf")])

    done = {d.recipient: d for d in archive.deliveries}
    for recipient in subscription.recipient_list():
        delivery = done.get(recipient)
        if delivery is not None and delivery.status == DeliveryStatus.SENT.value:
            continue
        if delivery is None:
            delivery = ReportDelivery(archive_id=archive.id, recipient=recipient, attempts=0)
            session.add(delivery)
        delivery.status = DeliveryStatus.PENDING.value
        if deliver(delivery, message_for, smtp_url, outbox, attempts=attempts, backoff_seconds=backoff):
            summary.sent += 1
        else:
            summary.failed.append((recipient, delivery.last_error or ""))
        session.commit()


def reportable_months(since: dt.date, today: dt.date) -> list[str]:
    """The months from ``since``'s month on whose report is due by ``today``: a month's report
    is due from the first working day of the month after it."""
    months: list[str] = []
    year, month = since.year, since.month
    while True:
        following = dt.date(year + (month == 12), month % 12 + 1, 1)
        if first_working_day(following) > today:
            return months
        months.append(f"{year:04d}-{month:02d}")
        year, month = following.year, following.month


def due_reports(session: Session, now: dt.datetime) -> list[tuple[ReportSubscription, str]]:
    """(subscription, month) pairs a run at ``now`` owes: every month that ended after the
    subscription was created and has no archived report yet (a run missed on a first working
    day is made up by the next one, once), plus the latest month while some of its
    recipients are still unserved (their deliveries are retried)."""
    today = now.astimezone(LOCAL_TZ).date()
    owed: list[tuple[ReportSubscription, str]] = []
    subscriptions = session.scalars(select(ReportSubscription).where(ReportSubscription.active.is_(True))
                                    .order_by(ReportSubscription.id)).all()
    for subscription in subscriptions:
        months = reportable_months(subscription.created_at.astimezone(LOCAL_TZ).date(), today)
        if not months:
            continue
        archives = {a.month: a for a in session.scalars(select(ReportArchive).where(
            ReportArchive.subscription_id == subscription.id, ReportArchive.month.in_(months)))}
        for month in months:
            archive = archives.get(month)
            if archive is None:
                owed.append((subscription, month))
            elif month == months[-1]:
                sent = {d.recipient for d in archive.deliveries if d.status == DeliveryStatus.SENT.value}
                if set(subscription.recipient_list()) - sent:
                    owed.append((subscription, month))
    return owed


def run_due_reports(session: Session, now: dt.datetime, config: Mapping[str, Any]) -> list[RunSummary]:
    """For the daily trigger: every report owed at ``now`` (see ``due_reports``), oldest month
    first; an empty list when nothing is owed."""
    owed = due_reports(session, now)
    summaries: dict[str, RunSummary] = {}
    for subscription, month in sorted(owed, key=lambda pair: (pair[1], pair[0].id)):
        summary = summaries.setdefault(month, RunSummary(month))
        summary.due += 1
        _report_subscription(session, subscription, parse_month(month), now, config, summary)
    return list(summaries.values())


def config_of(app: Any) -> dict[str, Any]:
    """The application's settings plus the report folder under its instance path."""
    config = dict(app.config)
    config.setdefault("REPORT_DIR", os.environ.get("REPORT_DIR") or os.path.join(app.instance_path, "reports"))
    return config


def monthly_reports_job(session: Session, now: dt.datetime) -> dict[str, Any]:
    """The scheduled job (``app.reports.runs.monthly_reports_job``, daily).  ``now`` is the
    time of the tick it runs for, never the wall clock: a first-working-day tick run late
    (scheduler down, ticks coalesced at restart) still owes last month's reports."""
    from flask import current_app

    summaries = run_due_reports(session, now, config_of(current_app))
    if not summaries:
        return {"due": 0}
    return {"due": sum(s.due for s in summaries),
            "months": ",".join(s.month for s in summaries),
            "rendered": sum(s.rendered for s in summaries), "sent": sum(s.sent for s in summaries),
            "failed": sum(len(s.failed) for s in summaries), "errors": sum(len(s.errors) for s in summaries)}
