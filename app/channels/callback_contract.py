"""What a platform's callback endpoint receives, whoever sends it: the core
(``app.channels.callbacks``, INTAKE_MODE=direct) or the intake gateway of the internet zone
(``app.gateway.delivery``, INTAKE_MODE=queue).  One result per POST, its exact bytes signed
with the channel's secret::

    X-GridCare-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes>

and the schedule of tries after a failure (a non-2xx answer, a redirect, a connection
error).  Pure functions and constants only: nothing here reads a database or Flask, so the
gateway, which holds no connection to the core database, shares them without copying."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from typing import Any, Callable, Optional

SIGNATURE_HEADER = "X-GridCare-Signature"
# The wait after the 1st, 2nd… failed try; one more try after the last wait, then the result
# waits for an administrator.
RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30),
                dt.timedelta(hours=2), dt.timedelta(hours=6))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT_SECONDS = 10

# (url, body, headers) → None when the callback took it, else what went wrong.
Post = Callable[[str, bytes, dict[str, str]], Optional[str]]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_is_valid(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver checks (and the tests do): the header matches the body and secret."""
    return bool(header) and hmac.compare_digest(signature(secret, body), str(header))


def encode(result: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed) for one result object."""
    return json.dumps(result, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def headers(secret: str, body: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signature(secret, body)}


def after_failure(attempts: int, now: dt.datetime) -> tuple[dt.datetime | None, bool]:
    """After the ``attempts``-th failed try at ``now``: when to try again, and whether the
    result gave up (then it waits for an administrator's retry)."""
    if attempts >= MAX_ATTEMPTS:
        return None, True
    return now + RETRY_DELAYS[attempts - 1], False


def http_post(url: str, body: bytes, headers: dict[str, str]) -> str | None:
    """POST the body; None when the callback took it (2xx), else what went wrong."""
    import requests

    try:
        response = requests.post(url, data=body, headers=headers, timeout=TIMEOUT_SECONDS,
                                 allow_redirects=False)
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}"[:255]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"
