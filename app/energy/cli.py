"""`flask --app app gridcare energy …`: run push campaigns from the command line or a job."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

energy = AppGroup("energy", help="Customer energy services.")


@energy.command("push")
@click.argument("campaign_id", type=int)
def push_command(campaign_id: int) -> None:
    """Push a campaign to every targeted customer not yet reached (safe to re-run)."""
    from app.energy import push
    from app.extensions import db
    from app.workflow.actor import SYSTEM
    from app.workflow.errors import DomainError

    try:
        counts = push.run_campaign(db.session, SYSTEM, campaign_id, push.sender_from_config(current_app.config))
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"created: {counts['created']}, already reached: {counts['skipped']}, "
               f"sent: {counts['sent']}, failed: {counts['failed']}")
