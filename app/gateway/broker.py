"""The AMQP side of intake across zones (pika, publisher confirms, manual acks).

Topology, every name under one prefix (``AMQP_PREFIX``, default ``gridcare``) so that several
installations, or test runs, share a broker without meeting:

- ``<p>.intake`` (direct exchange) → queue ``<p>.intake``: demands the gateway accepted, for
  the consumers of the internal zone.  Its dead-letter exchange is ``<p>.intake.dead``.
- ``<p>.intake.dead`` (fanout) → queue ``<p>.intake.dead``: poison messages, kept until an
  administrator replays or discards them (Settings → Dead letters).
- ``<p>.results`` (direct) → queue ``<p>.results``: what the core sends back to the gateway
  (order numbers, later results, the valid API keys).  One active consumer at a time
  (``x-single-active-consumer``), so the gateway stores them in the order they were sent.

Every side declares the whole topology (declarations are idempotent), so consumers and the
gateway may start in any order.  In a two-zone deployment each zone has its own broker and a
shovel moves ``<p>.intake`` outward-in and ``<p>.results`` inward-out (docs/deploy.md).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# How often a poison message may crash a consumer before the broker dead-letters it itself.
DELIVERY_LIMIT = 5


@dataclass(frozen=True)
class Topology:
    prefix: str

    @property
    def intake(self) -> str:
        return f"{self.prefix}.intake"

    @property
    def dead(self) -> str:
        return f"{self.prefix}.intake.dead"

    @property
    def results(self) -> str:
        return f"{self.prefix}.results"


def amqp_url() -> str:
    return os.environ.get("AMQP_URL") or DEFAULT_AMQP_URL


def topology() -> Topology:
    return Topology(os.environ.get("AMQP_PREFIX") or "gridcare")


def connect(url: str | None = None, timeout: float = 5.0) -> pika.BlockingConnection:
    params = pika.URLParameters(url or amqp_url())
    params.socket_timeout = timeout
    params.blocked_connection_timeout = 30
    params.connection_attempts = 1
    params.heartbeat = 30
    return pika.BlockingConnection(params)


def declare(channel: BlockingChannel, names: Topology) -> None:
    channel.exchange_declare(names.dead, exchange_type="fanout", durable=True)
    channel.queue_declare(names.dead, durable=True)
    channel.queue_bind(names.dead, names.dead)
    channel.exchange_declare(names.intake, exchange_type="direct", durable=True)
    # A quorum queue counts deliveries: a message that kills its consumer again and again is
    # dead-lettered by the broker after DELIVERY_LIMIT tries instead of looping for ever.
    channel.queue_declare(names.intake, durable=True, arguments={
        "x-queue-type": "quorum", "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": names.dead})
    channel.queue_bind(names.intake, names.intake, routing_key="demand")
    channel.exchange_declare(names.results, exchange_type="direct", durable=True)
    channel.queue_declare(names.results, durable=True, arguments={"x-single-active-consumer": True})
    channel.queue_bind(names.results, names.results, routing_key="result")


def open_channel(connection: pika.BlockingConnection, names: Topology) -> BlockingChannel:
    """A channel with the topology declared and publisher confirms on: ``publish`` then
    returns only once the broker has taken the message (and raises if it did not)."""
    channel = connection.channel()
    declare(channel, names)
    channel.confirm_delivery()
    return channel


def publish(channel: BlockingChannel, exchange: str, routing_key: str, body: dict[str, Any],
            message_id: str | None = None, headers: dict[str, Any] | None = None) -> None:
    """Publish persistently and mandatorily; with confirms on, a nack or an unroutable
    message raises (pika's NackError / UnroutableError)."""
    channel.basic_publish(
        exchange, routing_key,
        json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
        pika.BasicProperties(delivery_mode=2, content_type="application/json",
                             message_id=message_id, headers=headers or None),
        mandatory=True)


def purge_all(names: Topology, url: str | None = None) -> None:
    """Delete the topology's queues and exchanges (tests clean up with this)."""
    connection = connect(url)
    try:
        channel = connection.channel()
        for queue in (names.intake, names.dead, names.results):
            channel.queue_delete(queue)
        for exchange in (names.intake, names.dead, names.results):
            channel.exchange_delete(exchange)
    finally:
        connection.close()


def redacted(url: str) -> str:
    """The URL without its password, for logs."""
    params = pika.URLParameters(url)
    return f"amqp://{params.host}:{params.port}{params.virtual_host if params.virtual_host != '/' else '/'}"
