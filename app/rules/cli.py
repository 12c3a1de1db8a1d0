"""`flask --app app gridcare rules …`: escalation sweeps, targeting selections, default rules."""

from __future__ import annotations

import click
from flask.cli import AppGroup

rules_cli = AppGroup("rules", help="Business rules: escalation, targeting, defaults.")


@rules_cli.command("escalate")
@click.option("--dry-run", is_flag=True, help="Only show what the escalation rules would do.")
def escalate_command(dry_run: bool) -> None:
    """Run the escalation rules over the open orders once."""
    from app.extensions import db
    from app.rules.dryrun import dry_run as preview
    from app.rules.escalation import run_escalation

    if dry_run:
        rows = [r for r in preview(db.session, "escalation", last_n=200) if r.fired]
        for row in rows:
            click.echo(f"{row.subject}: {', '.join(row.fired)} → {'; '.join(row.outcome)}")
        click.echo(f"{len(rows)} orders would be escalated (of the last 200 open ones)")
        return
    done = run_escalation(db.session)
    db.session.commit()
    for item in done:
        click.echo(f"{item.number}: {item.rule} → {'; '.join(item.did) or 'nothing to change'}")
    click.echo(f"{len(done)} escalations")


@rules_cli.command("select")
@click.argument("rule_set")
@click.option("--period", default=None, help="Billing month YYYYMM (default: the latest).")
def select_command(rule_set: str, period: str | None) -> None:
    """Count the customers each rule of a targeting RULE_SET selects."""
    from app.extensions import db
    from app.rules.targeting import select_customers
    from app.workflow.errors import DomainError

    try:
        selections = select_customers(db.session, rule_set, period=period)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    for selection in selections:
        campaigns = ", ".join(c.get("campaign", "") for c in selection.campaigns)
        click.echo(f"{selection.rule}: {len(selection.customer_ids)} customers → {campaigns}")


@rules_cli.command("seed")
def seed_command() -> None:
    """Add the default rule sets that are missing."""
    from app.extensions import db
    from app.rules.seed import seed_rules

    added = seed_rules(db.session)
    db.session.commit()
    click.echo(f"rule sets added: {added}")
