"""The dead-letter queue as administrators see it (Settings → Dead letters): its messages
with the reason each was refused, a replay of one (its body as fixed on the screen) to the
intake queue, and a discard.

The queue stays the one place a dead letter lives: the screen reads it by taking messages
without acknowledging them and closing the channel, which puts them all back; a replay
publishes the fixed body (with confirms) and only then acknowledges the dead letter."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from app.gateway import broker

BROWSE_LIMIT = 200


@dataclass
class DeadLetter:
    key: str  # the message id (the gateway's receipt), or a hash of the body when it has none
    body: str
    error: str
    field: str
    failed_at: str
    deaths: int

    @property
    def channel(self) -> str:
        return self._parsed().get("channel", "") if isinstance(self._parsed(), dict) else ""

    @property
    def external_id(self) -> str:
        parsed = self._parsed()
        demand = parsed.get("demand") if isinstance(parsed, dict) else None
        return str(demand.get("external_id", "")) if isinstance(demand, dict) else ""

    def _parsed(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


def _key(props: Any, body: bytes) -> str:
    return props.message_id or "sha256:" + hashlib.sha256(body).hexdigest()[:24]


def _letter(props: Any, body: bytes) -> DeadLetter:
    headers = props.headers or {}
    deaths = headers.get("x-death") or []
    error = headers.get("x-error")
    if error is None and deaths:  # dead-lettered by the broker itself (delivery limit)
        error = f"dead-lettered by the broker: {deaths[0].get('reason')}"
    return DeadLetter(key=_key(props, body), body=body.decode("utf-8", "replace"),
                      error=str(error or ""), field=str(headers.get("x-field") or ""),
                      failed_at=str(headers.get("x-failed-at") or ""), deaths=len(deaths))


def browse(url: str, names: broker.Topology, limit: int = BROWSE_LIMIT) -> list[DeadLetter]:
    connection = broker.connect(url)
    try:
        channel = connection.channel()
        broker.declare(channel, names)
        letters = []
        for _ in range(limit):
            method, props, body = channel.basic_get(names.dead, auto_ack=False)
            if method is None:
                break
            letters.append(_letter(props, body))
        return letters
    finally:
        connection.close()  # every message taken goes back to the queue


def _take(url: str, names: broker.Topology, key: str, action: Any) -> bool:
    connection = broker.connect(url)
    try:
        channel = broker.open_channel(connection, names)
        for _ in range(BROWSE_LIMIT * 5):
            method, props, body = channel.basic_get(names.dead, auto_ack=False)
            if method is None:
                return False
            if _key(props, body) == key:
                action(channel, props, body)
                channel.basic_ack(method.delivery_tag)
                return True
        return False
    finally:
        connection.close()


def replay(url: str, names: broker.Topology, key: str, body: str) -> bool:
    """Publish ``body`` (the message as fixed) to the intake queue in place of the dead letter
    ``key``; False when no such dead letter is left (replayed or discarded meanwhile)."""
    import pika

    def publish(channel: Any, props: Any, _old: bytes) -> None:
        channel.basic_publish(names.intake, "demand", body.encode("utf-8"), pika.BasicProperties(
            delivery_mode=2, content_type="application/json", message_id=props.message_id),
            mandatory=True)

    return _take(url, names, key, publish)


def discard(url: str, names: broker.Topology, key: str) -> bool:
    return _take(url, names, key, lambda *_: None)
