"""API keys of external channel clients: created once (the plain key is shown only then),
stored as a SHA-256, found by their prefix, revocable, each use logged."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    return key


def find_key(session: Session, plain: str | None) -> ChannelApiKey | None:
    """The active key matching ``plain``, or None (unknown, malformed or revoked)."""
    if not plain:
        return None
    parts = plain.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    key = session.scalar(select(ChannelApiKey).where(ChannelApiKey.prefix == parts[1]))
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.key_hash, _hash(plain.strip())):
        return None
    return key


def log_use(session: Session, key_id: int, channel: str, method: str, path: str, status: int,
            external_id: str | None = None, remote_addr: str | None = None) -> None:
    session.add(ChannelApiKeyUse(api_key_id=key_id, channel=channel, method=method[:8],
                          path=path[:255], status=status,
                          external_id=(external_id or None) and str(external_id)[:64],
                          remote_addr=remote_addr, used_at=utcnow()))
