"""`flask --app app gridcare apikey …`, `… generate-tasks` and `… feedback deliver`: channel commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

apikey = AppGroup("apikey", help="API keys of external channel clients.")


@apikey.command("create")
@click.option("--channel", required=True, help="channel code, e.g. hotline_12345")
@click.option("--name", default=None, help="who the key is for")
@click.option("--station", default=None, help="station code taking demands of unknown customers")
def create_command(channel: str, name: str | None, station: str | None) -> None:
    """Print a new API key for CHANNEL (shown once, stored hashed)."""
    from app.channels import apikeys
    from app.extensions import db
    from app.workflow.errors import DomainError

    try:
        new = apikeys.create_key(db.session, channel, name, station_code=station)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    click.echo(f"API key for {channel} (id {new.key.id}); it is shown only now:")
    click.echo(new.plain)


@apikey.command("revoke")
@click.argument("key_id", type=int)
def revoke_command(key_id: int) -> None:
    """Revoke the key KEY_ID."""
    from app.channels import apikeys
    from app.extensions import db
    from app.workflow.errors import DomainError

    try:
        key = apikeys.revoke_key(db.session, key_id)
        db.session.commit()
    except DomainError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"revoked {key.prefix} ({key.channel})")


@click.command("generate-tasks")
@with_appcontext
def generate_tasks_command() -> None:
    """Create the current period's orders of every repeating task template."""
    from app.channels.tasks import generate_due_tasks
    from app.extensions import db

    orders = generate_due_tasks(db.session)
    db.session.commit()
    click.echo(f"task orders created: {len(orders)}")


feedback = AppGroup("feedback", help="Results given back to the external platforms.")


@feedback.command("deliver")
def deliver_command() -> None:
    """POST the pending results to every channel's callback URL once (signed, in order)."""
    from app import clock
    from app.channels.callbacks import deliver
    from app.extensions import db

    report = deliver(db.session, clock.now())
    if report.by_gateway:
        click.echo("nothing sent: in INTAKE_MODE=queue the intake gateway delivers the callbacks "
                   "(flask --app app gridcare gateway --deliver-once there)")
        return
    click.echo(f"delivered {report.delivered}, failed {report.failed}")
