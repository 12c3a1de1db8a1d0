"""Channel settings, taken from the application's config (each overridable by environment)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

DEFAULT_OUTAGE_KEYWORDS = ("停电", "没电", "断电", "无电", "跳闸", "outage", "power cut", "no power")


@dataclass
class ChannelSettings:
    duplicate_window_hours: float = 72
    duplicate_similarity: float = 0.6
    outage_window_minutes: float = 60
    outage_min_reports: int = 2
    outage_keywords: tuple[str, ...] = DEFAULT_OUTAGE_KEYWORDS
    intake_max_content_chars: int = 10_000
    intake_max_body_bytes: int = 16 * 1024 * 1024
    # No tile server unless one is set: a station's intranet rarely reaches a public one, and a
    # map waiting for unreachable tiles is worse than markers on a plain background.
    map_tile_url: str = ""
    map_tile_attribution: str = ""
    public_request_rate_limit: str = "5 per minute"
    # "direct" or "queue" (INTAKE_MODE): in queue mode the gateway, not the core, delivers callbacks.
    intake_mode: str = "direct"


settings = ChannelSettings()


def configure(config: Any) -> ChannelSettings:
    def get(name: str, default: Any) -> Any:
        if name in config:
            return config[name]
        return os.environ.get(name, default)

    settings.duplicate_window_hours = float(get("DUPLICATE_WINDOW_HOURS", 72))
    settings.duplicate_similarity = float(get("DUPLICATE_SIMILARITY", 0.6))
    settings.outage_window_minutes = float(get("OUTAGE_GROUP_WINDOW_MINUTES", 60))
    settings.outage_min_reports = int(get("OUTAGE_GROUP_MIN_REPORTS", 2))
    keywords = get("OUTAGE_KEYWORDS", None)
    if isinstance(keywords, str) and keywords.strip():
        settings.outage_keywords = tuple(k.strip() for k in keywords.split(",") if k.strip())
    elif isinstance(keywords, (list, tuple)):
        settings.outage_keywords = tuple(keywords)
    settings.intake_max_content_chars = int(get("INTAKE_MAX_CONTENT_CHARS", 10_000))
    settings.intake_max_body_bytes = int(get("INTAKE_MAX_BODY_BYTES", 16 * 1024 * 1024))
    settings.map_tile_url = str(get("MAP_TILE_URL", settings.map_tile_url))
    settings.map_tile_attribution = str(get("MAP_TILE_ATTRIBUTION", settings.map_tile_attribution))
    if hasattr(config, "setdefault"):
        # The content security policy lets map tiles come from the tile server only.
        config.setdefault("MAP_TILE_ORIGIN", tile_origin(settings.map_tile_url))
    settings.public_request_rate_limit = str(get("PUBLIC_REQUEST_RATE_LIMIT", "5 per minute"))
    settings.intake_mode = str(get("INTAKE_MODE", "direct")).strip().lower()
    return settings


def tile_origin(url: str) -> str:
    """The origin of a Leaflet tile URL template ({s} subdomains become a wildcard)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return ""  # tiles from the application itself
    host = parts.netloc
    if "{s}" in url.split("://", 1)[-1].split("/", 1)[0]:
        host = "*." + host.split(".", 1)[1]
    return f"{parts.scheme}://{host}"
