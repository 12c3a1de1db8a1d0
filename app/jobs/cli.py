"""`flask --app app gridcare sync customers|bills FILE` and `flask --app app gridcare scheduler`."""

from __future__ import annotations

import sys
from typing import Any

import click
from flask.cli import AppGroup

sync_group = AppGroup("sync", help="Import a marketing-system export (营销2.0).")


def _run(kind: str, path: str, batch_size: int, commit_rows: int | None) -> None:
    from app.extensions import db
    from app.jobs.sync import SyncError, run_sync

    with click.progressbar(length=1000, label=f"sync {kind}", file=sys.stderr,
                           show_eta=True, show_percent=True) as bar:
        state = {"done": 0}

        def progress(share: float, summary) -> None:  # type: ignore[no-untyped-def]
            target = int(share * 1000)
            if target > state["done"]:
                bar.update(target - state["done"])
                state["done"] = target

        try:
            summary = run_sync(db.session, kind, path, batch_size=batch_size, commit_rows=commit_rows,
                               progress=progress)
        except SyncError as error:
            click.echo("", err=True)
            click.echo(f"error: {error}", err=True)
            sys.exit(1)
    if summary.resumed_after_row:
        click.echo(f"resumed run {summary.run_id} after row {summary.resumed_after_row}")
    click.echo(f"{summary.filename} ({summary.file_format}"
               f"{', ' + summary.encoding if summary.encoding else ''}): run {summary.run_id}")
    click.echo(f"read: {summary.read}")
    click.echo(f"inserted: {summary.inserted}")
    click.echo(f"updated: {summary.updated}")
    click.echo(f"unchanged: {summary.unchanged}")
    click.echo(f"quarantined: {summary.quarantined}")
    click.echo(f"seconds: {summary.seconds:.1f}")


def _batch_options(command: Any) -> Any:
    """The options every sync command takes: rows per batch and rows per commit."""
    command = click.option("--commit-rows", type=click.IntRange(1), default=None,
                           help="commit after at least this many rows (default: every batch; "
                                "on SQLite every 100,000)")(command)
    return click.option("--batch-size", default=10_000, show_default=True,
                        type=click.IntRange(1, 100_000))(command)


@sync_group.command("customers")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_batch_options
def sync_customers(path: str, batch_size: int, commit_rows: int | None) -> None:
    """Customer archive (户号, 户名, 用电类别, … or customer_no, name, customer_type, …)."""
    _run("customers", path, batch_size, commit_rows)


@sync_group.command("bills")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@_batch_options
def sync_bills(path: str, batch_size: int, commit_rows: int | None) -> None:
    """Monthly bills (户号, 账期, 总电量, …, 电费金额)."""
    _run("bills", path, batch_size, commit_rows)


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler as its own process (stands by while another one holds the lease)."""
    from flask import current_app

    from app.jobs.scheduler import run_forever

    run_forever(current_app._get_current_object())  # type: ignore[attr-defined]
