"""Content-addressed document store for photos and videos from the field.

Files live under ``DOCUMENT_DIR`` as ``ab/cd/<sha256>`` (identical uploads share one file);
photo thumbnails as ``thumbs/ab/<sha256>.jpg``.  Every upload is checked completely —
type sniffed from its first bytes (the file name is not trusted), size against the limits,
photos decoded by Pillow — before a single byte is written, so a refused upload leaves
nothing behind.  Serving checks the viewer's grid scope on the ``Document`` row.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models.document import Document, DocumentKind, OwnerType
from app.workflow.actor import Actor
from app.workflow.errors import InvalidInput, NotFound, OutOfScope

# content type → (kind, allowed file name extensions)
ALLOWED = {
    "image/jpeg": (DocumentKind.PHOTO.value, {".jpg", ".jpeg"}),
    "image/png": (DocumentKind.PHOTO.value, {".png"}),
    "image/webp": (DocumentKind.PHOTO.value, {".webp"}),
    "video/mp4": (DocumentKind.VIDEO.value, {".mp4", ".m4v"}),
}


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, from their magic numbers."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return "video/mp4"
    return None


@dataclass
class Upload:
    """One checked upload, ready to be written."""

    data: bytes
    filename: str
    content_type: str
    kind: str
    sha256: str
    thumbnail: bytes | None


class DocumentStore:
    def __init__(self, root: str | Path, max_photo_bytes: int, max_video_bytes: int,
                 thumbnail_px: int = 320) -> None:
        self.root = Path(root)
        self.max_photo_bytes = max_photo_bytes
        self.max_video_bytes = max_video_bytes
        self.thumbnail_px = thumbnail_px

    @classmethod
    def from_config(cls, config: Any) -> "DocumentStore":
        return cls(config["DOCUMENT_DIR"], int(config.get("DOCUMENT_MAX_PHOTO_BYTES", 10 << 20)),
                   int(config.get("DOCUMENT_MAX_VIDEO_BYTES", 200 << 20)),
                   int(config.get("DOCUMENT_THUMBNAIL_PX", 320)))

    # --- checking ---------------------------------------------------------------------
    def check(self, data: bytes, filename: str | None) -> Upload:
        name = os.path.basename(filename or "upload")
        if not data:
            raise InvalidInput(f"{name}: the file is empty", field="file")
        content_type = sniff(data)
        if content_type is None:
            raise InvalidInput(
                f"{name}: file type not allowed (JPEG, PNG or WebP photos, MP4 videos)", field="file"
            )
        kind, extensions = ALLOWED[content_type]
        ext = os.path.splitext(name)[1].lower()
        if ext and ext not in extensions:
            raise InvalidInput(f"{name}: the name says {ext} but the content is {content_type}", field="file")
        limit = self.max_photo_bytes if kind == DocumentKind.PHOTO.value else self.max_video_bytes
        if len(data) > limit:
            raise InvalidInput(
                f"{name}: {len(data)} bytes is over the {kind} limit of {limit} bytes", field="file"
            )
        thumbnail = self._thumbnail(data, name) if kind == DocumentKind.PHOTO.value else None
        return Upload(data, name, content_type, kind, hashlib.sha256(data).hexdigest(), thumbnail)

    def _thumbnail(self, data: bytes, name: str) -> bytes:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image.thumbnail((self.thumbnail_px, self.thumbnail_px))
                out = io.BytesIO()
                image.convert("RGB").save(out, "JPEG", quality=80)
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            raise InvalidInput(f"{name}: the photo cannot be read", field="file") from None
        return out.getvalue()

    # --- writing and reading ----------------------------------------------------------
    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def thumbnail_path_of(self, sha256: str) -> Path:
        return self.root / "thumbs" / sha256[:2] / f"{sha256}.jpg"

    def write(self, upload: Upload) -> None:
        self._write_once(self.path_of(upload.sha256), upload.data)
        if upload.thumbnail is not None:
            self._write_once(self.thumbnail_path_of(upload.sha256), upload.thumbnail)

    @staticmethod
    def _write_once(path: Path, data: bytes) -> None:
        if path.exists():
            return  # content-addressed: the same bytes are already there
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)  # atomic: readers never see half a file

    def attach(self, session: Session, actor: Actor, uploads: list[Upload], *, owner_type: str,
               owner_id: int, grid_id: int, station_id: int) -> list[Document]:
        """Write checked uploads and record them against their owner (caller commits)."""
        OwnerType(owner_type)
        documents = []
        for upload in uploads:
            self.write(upload)
            document = Document(
                sha256=upload.sha256, kind=upload.kind, content_type=upload.content_type,
                size_bytes=len(upload.data), original_name=upload.filename[:255],
                has_thumbnail=upload.thumbnail is not None, owner_type=owner_type,
                owner_id=owner_id, grid_id=grid_id, station_id=station_id,
                uploaded_by_id=actor.user_id, uploaded_by_name=actor.display_name,
            )
            session.add(document)
            documents.append(document)
        session.flush()
        return documents


def load_document(session: Session, actor: Actor, document_id: int) -> Document:
    """The document, when the viewer's scope covers the record it belongs to."""
    document = session.get(Document, document_id)
    if document is None:
        raise NotFound("no such document")
    if not actor.can_see_grid(document.grid_id, document.station_id):
        raise OutOfScope("the document belongs to a record outside your scope")
    return document


def documents_of(session: Session, owner_type: str, owner_ids: list[int]) -> dict[int, list[Document]]:
    found: dict[int, list[Document]] = {}
    if not owner_ids:
        return found
    rows = session.scalars(select(Document).where(Document.owner_type == owner_type)
                           .where(Document.owner_id.in_(owner_ids)).order_by(Document.id))
    for document in rows:
        found.setdefault(document.owner_id, []).append(document)
    return found
