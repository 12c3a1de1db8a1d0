"""The document store on its own: type sniffing, limits, content addressing, thumbnails."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.documents.store import DocumentStore, sniff
from app.workflow.errors import InvalidInput
from tests.energy_helpers import files_under, image_bytes


def test_types_are_sniffed_from_the_bytes_not_the_name():
    assert sniff(image_bytes("JPEG")) == "image/jpeg"
    assert sniff(image_bytes("PNG")) == "image/png"
    assert sniff(image_bytes("WEBP")) == "image/webp"
    assert sniff(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 20) == "video/mp4"
    assert sniff(b"%PDF-1.7 ...") is None
    assert sniff(b"GIF89a") is None


def test_identical_photos_share_one_file_and_get_an_upright_thumbnail(tmp_path):
    store = DocumentStore(tmp_path, max_photo_bytes=1 << 20, max_video_bytes=1 << 20, thumbnail_px=100)
    image = Image.new("RGB", (400, 200), "white")
    exif = image.getexif()
    exif[0x0112] = 6  # orientation: rotate 90° to view
    raw = io.BytesIO()
    image.save(raw, "JPEG", exif=exif)
    upload = store.check(raw.getvalue(), "side.jpg")
    store.write(upload)
    store.write(store.check(raw.getvalue(), "same-again.jpeg"))
    assert files_under(tmp_path) == {
        f"{upload.sha256[:2]}/{upload.sha256[2:4]}/{upload.sha256}",
        f"thumbs/{upload.sha256[:2]}/{upload.sha256}.jpg",
    }
    with Image.open(store.thumbnail_path_of(upload.sha256)) as thumb:
        assert thumb.size == (50, 100)  # portrait, at most 100 px


def test_broken_photo_and_oversize_video_are_refused_before_writing(tmp_path):
    store = DocumentStore(tmp_path, max_photo_bytes=1 << 20, max_video_bytes=100)
    with pytest.raises(InvalidInput, match="cannot be read"):
        store.check(b"\xff\xd8\xff\xe0" + b"\x00" * 50, "broken.jpg")
    with pytest.raises(InvalidInput, match="video limit of 100 bytes"):
        store.check(b"\x00\x00\x00\x20ftypisom" + b"\x00" * 200, "long.mp4")
    with pytest.raises(InvalidInput, match="empty"):
        store.check(b"", "nothing.jpg")
    assert files_under(tmp_path) == set()
