"""`flask --app app gridcare …`: the operators' commands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.energy.cli import energy

gridcare = AppGroup("gridcare", help="GridCare commands.")
gridcare.add_command(energy)  # `gridcare energy push` (app/energy/cli.py)


@gridcare.command("sync-roles")
def sync_roles_command() -> None:
    """Create every permission and give each role exactly its access matrix."""
    from app.extensions import appbuilder
    from app.security.access import sync_roles

    counts = sync_roles(appbuilder)
    for role, count in counts.items():
        click.echo(f"{role}: {count} permissions")


@gridcare.command("seed-demo")
@click.option("--customers", default=2000, show_default=True, type=click.IntRange(0, 10_000_000))
@click.option("--orders", default=300, show_default=True, type=click.IntRange(0, 10_000_000))
def seed_demo_command(customers: int, orders: int) -> None:
    """Demo organisation, accounts, customers, bills and orders (repeatable)."""
    from app.extensions import appbuilder, db
    from app.seed import seed_demo

    result = seed_demo(appbuilder, db.session, customers, orders, current_app.config["DEMO_PASSWORD"])
    click.echo(f"customers added: {result['customers']}, orders added: {result['orders']}")


@gridcare.command("seed-scale")
@click.option("--customers", default=20000, show_default=True, type=click.IntRange(0, 50_000_000))
@click.option("--orders", default=20000, show_default=True, type=click.IntRange(0, 50_000_000))
@click.option("--stations", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.option("--months", default=12, show_default=True, type=click.IntRange(0, 36))
def seed_scale_command(customers: int, orders: int, stations: int, months: int) -> None:
    """Province-scale data by bulk insert (stations SC…, customers 35…, orders GS…)."""
    from app.extensions import db
    from app.ops.scale import seed_scale

    with db.engine.connect() as conn:
        figures = seed_scale(conn, customers, orders, stations, months, progress=click.echo)
        conn.commit()
    click.echo(" ".join(f"{k}={v}" for k, v in figures.items()))


@gridcare.group("audit")
def audit_group() -> None:
    """The audit log."""


@audit_group.command("purge")
def audit_purge_command() -> None:
    """Delete audit entries older than AUDIT_RETENTION_DAYS."""
    from app.audit import purge
    from app.extensions import db

    days = int(current_app.config["AUDIT_RETENTION_DAYS"])
    removed = purge(db.session, days)
    db.session.commit()
    click.echo(f"removed {removed} audit entries older than {days} days")


@gridcare.command("backup")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="FILE.tar.gz")
def backup_command(out: str) -> None:
    """Back up the embedded database and documents (safe while the app runs)."""
    from pathlib import Path

    from app.ops.backup import BackupError, backup

    try:
        result = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["DOCUMENT_DIR"], Path(out))
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written to {result['file']} ({result['bytes']} bytes, {result['documents']} documents)")


@gridcare.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
def restore_command(archive: str) -> None:
    """Restore a backup made by `gridcare backup` (stop the application first)."""
    from pathlib import Path

    from app.extensions import db
    from app.ops.backup import BackupError, restore

    db.engine.dispose()
    try:
        result = restore(Path(archive), current_app.config["SQLALCHEMY_DATABASE_URI"], current_app.config["DOCUMENT_DIR"])
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored {result['database']} and {result['documents']} documents")
from app.rules.cli import rules_cli  # noqa: E402

gridcare.add_command(rules_cli)
from app.jobs.cli import scheduler_command, sync_group  # noqa: E402

gridcare.add_command(sync_group)
gridcare.add_command(scheduler_command)
from app.channels.cli import apikey, feedback, generate_tasks_command  # noqa: E402

gridcare.add_command(apikey)
gridcare.add_command(generate_tasks_command)
gridcare.add_command(feedback)
from app.reports.cli import report  # noqa: E402

gridcare.add_command(report)
from app.notifications.cli import notifications  # noqa: E402

gridcare.add_command(notifications)
from app.gateway.cli import consume_command, gateway_command  # noqa: E402

gridcare.add_command(gateway_command)
gridcare.add_command(consume_command)


def register_cli(app: Flask) -> None:
    app.cli.add_command(gridcare)
