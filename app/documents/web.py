"""The web edge of the document store: reading uploads from a request and sending files."""

from __future__ import annotations

from typing import Any

from flask import current_app, send_file

from app.documents.store import DocumentStore, Upload
from app.models.document import Document
from app.workflow.errors import InvalidInput, NotFound

MAX_FILES = 20


def current_store() -> DocumentStore:
    return DocumentStore.from_config(current_app.config)


def read_uploads(files: list[Any], store: DocumentStore) -> list[Upload]:
    """Check every uploaded file before any is written; the first bad one refuses them all."""
    files = [f for f in files if f is not None and (f.filename or "")]
    if len(files) > MAX_FILES:
        raise InvalidInput(f"at most {MAX_FILES} files at once", field="file")
    limit = max(store.max_photo_bytes, store.max_video_bytes)
    uploads = []
    for storage in files:
        data = storage.stream.read(limit + 1)  # never more than one byte over any limit
        uploads.append(store.check(data, storage.filename))
    return uploads


def send_document(document: Document, store: DocumentStore, thumbnail: bool = False) -> Any:
    if thumbnail:
        if not document.has_thumbnail:
            raise NotFound("this document has no thumbnail")
        path, mimetype = store.thumbnail_path_of(document.sha256), "image/jpeg"
    else:
        path, mimetype = store.path_of(document.sha256), document.content_type
    if not path.exists():
        raise NotFound("the file is missing from the document store")
    response = send_file(path, mimetype=mimetype, download_name=document.original_name or document.sha256,
                         conditional=True, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
