"""Outgoing SMS: the one adapter to the station's HTTP SMS gateway, used by staff notifications
and customer push campaigns alike.

``SmsGateway`` POSTs ``{"to", "content"}`` as JSON to ``SMS_GATEWAY_URL`` with the header
``Authorization: Bearer <SMS_GATEWAY_KEY>``; any answer but 2xx, or no answer, raises
``SmsError`` (the caller records it and retries).  Without a gateway URL the embedded default
``SmsOutbox`` appends each message to ``OUTBOX_DIR/sms-YYYYMMDD.jsonl``."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Protocol

from app import clock

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The gateway did not take the message."""


class Sender(Protocol):
    name: str

    def send(self, phone: str, body: str) -> None:
        """Deliver one message; raise on failure."""


class SmsOutbox:
    """The embedded default: log and append to a JSON-lines outbox file."""

    name = "outbox"

    def __init__(self, outbox_dir: str | Path) -> None:
        self.outbox_dir = Path(outbox_dir)

    def send(self, phone: str, body: str) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        now = clock.now()
        line = json.dumps({"to": phone, "body": body, "at": now.isoformat()}, ensure_ascii=False)
        with (self.outbox_dir / f"sms-{now:%Y%m%d}.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
        log.info("SMS to %s: %s", phone, body)


class SmsGateway:
    """Production: the station's HTTP SMS gateway, by URL and key."""

    name = "sms_gateway"

    def __init__(self, url: str, key: str, timeout: float = 10.0) -> None:
        if not url:
            raise ValueError("SMS_GATEWAY_URL is not set")
        self.url, self.key, self.timeout = url, key, timeout

    def send(self, phone: str, body: str) -> None:
        data = json.dumps({"to": phone, "content": body}, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.key}"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as error:
            raise SmsError(f"gateway answered {error.code}") from None
        except (urllib.error.URLError, OSError) as error:
            raise SmsError(f"gateway unreachable: {getattr(error, 'reason', error)}") from None
        if not 200 <= status < 300:
            raise SmsError(f"gateway answered {status}")


def gateway_sender(config: Any) -> Sender:
    """The gateway when ``SMS_GATEWAY_URL`` is set, else the outbox folder."""
    if config.get("SMS_GATEWAY_URL"):
        return SmsGateway(config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_KEY", ""))
    return SmsOutbox(config["OUTBOX_DIR"])
