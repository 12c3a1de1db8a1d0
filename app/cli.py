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


def register_cli(app: Flask) -> None:
    app.cli.add_command(gridcare)
