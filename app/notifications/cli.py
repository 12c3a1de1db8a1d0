"""`flask --app app gridcare notifications deliver`: send the queued mails and SMS once."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

notifications = AppGroup("notifications", help="Notifications of staff by mail and SMS.")


@notifications.command("deliver")
def deliver_command() -> None:
    """Send every queued mail and SMS that is due; failed ones are retried later."""
    from app import clock
    from app.extensions import db
    from app.notifications.delivery import deliver

    report = deliver(db.session, clock.now(), current_app.config)
    click.echo(f"sent {report.sent}, failed {report.failed}, deferred {report.deferred}")
