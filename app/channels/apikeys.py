"""API keys of external channel clients: created once (the plain key is shown only then),
stored as a SHA-256, found by their prefix, revocable, each use logged.

A key found once is kept in the process for ``API_KEY_CACHE_SECONDS`` (10 s by default; 0
reads the row at every request), so the intake API authenticates without a query.  Revoking
a key drops it from the cache of the process that revoked it at once; every other process
(the other gunicorn workers, other machines) stops accepting it at the latest when its cached
copy expires, that many seconds after it was read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import clock
from app.models.base import utcnow
from app.models.channel import ChannelApiKey, ChannelApiKeyUse
from app.models.org import Station
from app.models.workorder import Channel
from app.workflow.errors import InvalidInput, NotFound

KEY_PREFIX = "gck"


@dataclass(frozen=True)
class NewKey:
    key: ChannelApiKey
    plain: str


def _hash(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def create_key(session: Session, channel: str, name: str | None = None,
               created_by_id: int | None = None, station_code: str | None = None) -> NewKey:
    try:
        Channel(channel)
    except ValueError:
        raise InvalidInput(f"unknown channel: {channel}", field="channel") from None
    station_id = None
    if station_code:
        station_id = session.scalar(select(Station.id).where(Station.code == station_code))
        if station_id is None:
            raise InvalidInput(f"unknown station: {station_code}", field="station")
    prefix = secrets.token_hex(6)
    plain = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ChannelApiKey(channel=channel, name=(name or channel).strip()[:128], prefix=prefix,
                 key_hash=_hash(plain), station_id=station_id, created_by_id=created_by_id, created_at=utcnow())
    session.add(key)
    session.flush()
    return NewKey(key=key, plain=plain)


def revoke_key(session: Session, key_id: int, revoked_by_id: int | None = None,
               now: dt.datetime | None = None) -> ChannelApiKey:
    key = session.get(ChannelApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = now or utcnow()
        key.revoked_by_id = revoked_by_id
    forget(key.prefix)
    return key


@dataclass(frozen=True)
class ActiveKey:
    """What a request needs of an active key, detached from any session (cacheable)."""

    id: int
    channel: str
    name: str
    prefix: str
    key_hash: str
    station_id: int | None


# prefix -> (read at, the active key); only keys found active are kept.
_cache: dict[str, tuple[dt.datetime, ActiveKey]] = {}
_cache_lock = threading.Lock()
DEFAULT_CACHE_SECONDS = 10.0


def cache_seconds() -> float:
    """``API_KEY_CACHE_SECONDS`` of the current app (outside an app: the default)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return DEFAULT_CACHE_SECONDS
    return float(current_app.config.get("API_KEY_CACHE_SECONDS", DEFAULT_CACHE_SECONDS) or 0)


def forget(prefix: str | None = None) -> None:
    """Drop one key (or, without a prefix, every key) from this process's cache."""
    with _cache_lock:
        if prefix is None:
            _cache.clear()
        else:
            _cache.pop(prefix, None)


def find_key(session: Session, plain: str | None) -> ActiveKey | None:
    """The active key matching ``plain``, or None (unknown, malformed or revoked); from the
    process's cache when it was read less than ``API_KEY_CACHE_SECONDS`` ago."""
    if not plain:
        return None
    plain = plain.strip()
    parts = plain.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    prefix = parts[1]
    ttl = cache_seconds()
    now = clock.now()
    cached = _cache.get(prefix) if ttl > 0 else None
    if cached is not None and dt.timedelta(0) <= now - cached[0] < dt.timedelta(seconds=ttl):
        key = cached[1]
    else:
        row = session.scalar(select(ChannelApiKey).where(ChannelApiKey.prefix == prefix))
        if row is None or row.revoked_at is not None:
            forget(prefix)
            return None
        key = ActiveKey(row.id, row.channel, row.name, row.prefix, row.key_hash, row.station_id)
        if ttl > 0:
            with _cache_lock:
                _cache[prefix] = (now, key)
    if not hmac.compare_digest(key.key_hash, _hash(plain)):
        return None
    return key


def log_use(session: Session, key_id: int, channel: str, method: str, path: str, status: int,
            external_id: str | None = None, remote_addr: str | None = None) -> None:
    # A Core insert, executed at once in the session's transaction (an insert-only log).
    session.connection().execute(_INSERT_USE, {
        "api_key_id": key_id, "channel": channel, "method": method[:8], "path": path[:255],
        "status": status, "external_id": (external_id or None) and str(external_id)[:64],
        "remote_addr": remote_addr, "used_at": utcnow()})


# inline: no RETURNING of the new id (nobody reads it)
_INSERT_USE = ChannelApiKeyUse.__table__.insert().inline()
