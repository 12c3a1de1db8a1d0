"""``gridcare gateway`` (internet zone) and ``gridcare consume`` (internal zone)."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app


@click.command("gateway")
@click.option("--host", default=None, help="address to listen on (GATEWAY_HOST, 127.0.0.1)")
@click.option("--port", default=None, type=click.IntRange(1, 65535), help="port (GATEWAY_PORT, 8090)")
@click.option("--deliver-once", is_flag=True,
              help="instead of serving: one callback delivery run from the gateway's store, then exit")
@click.option("--retry-failed", is_flag=True,
              help="with --deliver-once: first put the results whose delivery gave up back in line")
def gateway_command(host: str | None, port: int | None, deliver_once: bool, retry_failed: bool) -> None:
    """The internet-zone intake gateway: intake API, feedback and callback delivery, no
    core-database connection.

    The process replaces itself by ``python -m app.gateway`` with DATABASE_URL taken out of
    its environment, so nothing of the core application (nor its database URL) stays in it."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    argv = [sys.executable, "-m", "app.gateway"]
    if deliver_once:
        argv += ["deliver"] + (["--retry-failed"] if retry_failed else [])
    if host:
        argv += ["--host", host]
    if port:
        argv += ["--port", str(port)]
    sys.stdout.flush()
    os.execve(sys.executable, argv, env)


@click.command("consume")
@click.option("--prefetch", default=20, show_default=True, type=click.IntRange(1, 1000))
def consume_command(prefetch: int) -> None:
    """The internal-zone consumer of intake messages from AMQP_URL (runs until stopped)."""
    from app.extensions import db
    from app.gateway import broker, consumer

    names = broker.Topology(current_app.config["AMQP_PREFIX"])
    click.echo(f"consuming {names.intake} at {broker.redacted(current_app.config['AMQP_URL'])}")
    consumer.run(db.session, current_app.config["AMQP_URL"], names, prefetch=prefetch,
                 key_seconds=float(current_app.config["INTAKE_KEY_SYNC_SECONDS"]))
