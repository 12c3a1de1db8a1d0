"""Test data of the on-site and energy tests: real image bytes made with Pillow."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (640, 480), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def files_under(root: str | Path) -> set[str]:
    root = Path(root)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()
