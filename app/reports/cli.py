"""`flask --app app gridcare report …`: render the evaluation report, run the monthly job."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

report = AppGroup("report", help="Evaluation reports.")


@report.command("evaluation")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--station", "station", default=None, help="station code (default: every station)")
@click.option("--team", "team", default=None, help="team code (instead of a station)")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
def evaluation_command(month: str, station: str | None, team: str | None, out: str) -> None:
    """Render the monthly evaluation report of a station (or team) to a PDF file."""
    from app.extensions import db
    from app.indicators import parse_month
    from app.indicators.scope import build_scope
    from app.models.base import utcnow
    from app.reports.render import render_evaluation_pdf
    from app.workflow.errors import DomainError

    try:
        period = parse_month(month)
        if team:
            scope = build_scope(db.session, "team", team)
        elif station:
            scope = build_scope(db.session, "station", station)
        else:
            scope = build_scope(db.session, "all")
    except DomainError as error:
        raise click.UsageError(error.message) from None
    rendered = render_evaluation_pdf(db.session, scope, period, utcnow(),
                                     targets=current_app.config.get("REPORT_TARGETS"))
    Path(out).write_bytes(rendered.pdf)
    click.echo(f"{rendered.title}: {out} ({len(rendered.pdf)} bytes, {rendered.seconds:.2f} s)")


@report.command("run-monthly")
@click.option("--month", default=None, help="YYYY-MM (default: the previous month)")
def run_monthly_command(month: str | None) -> None:
    """Render, archive and mail every subscribed report (what the scheduler runs)."""
    from app.extensions import db
    from app.models.base import utcnow
    from app.reports.runs import config_of, previous_month_label, run_monthly_reports

    now = utcnow()
    summary = run_monthly_reports(db.session, month or previous_month_label(now), now, config_of(current_app))
    click.echo(f"{summary.month}: rendered {summary.rendered}, sent {summary.sent}, failed {len(summary.failed)}")
    for recipient, error in summary.failed:
        click.echo(f"  failed: {recipient}: {error}")
    for error in summary.errors:
        click.echo(f"  error: {error}")
    if summary.failed or summary.errors:
        raise SystemExit(1)
