"""Backup and restore of the embedded default (SQLite + the document folder).

The database is copied with SQLite's online backup API, which gives a consistent snapshot
while the application keeps writing; documents are content-addressed and never rewritten,
so copying the folder after the snapshot cannot miss a file the snapshot refers to... except
ones added after it, which the snapshot does not reference either.  PostgreSQL and MariaDB
installations use their own tools (docs/deploy.md).
"""

from __future__ import annotations

import io
import json
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from app import clock


class BackupError(Exception):
    pass


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise BackupError(
            "backup/restore handles the embedded SQLite database; for PostgreSQL use pg_dump / "
            "pg_restore and for MariaDB mariadb-dump (see docs/deploy.md)"
        )
    return Path(url.database)


def backup(database_url: str, document_dir: str, out: Path) -> dict[str, int | str]:
    source = sqlite_path(database_url)
    if not source.exists():
        raise BackupError(f"no database at {source}")
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / "gridcare.db"
        src = sqlite3.connect(str(source), timeout=60)
        dst = sqlite3.connect(str(snapshot))
        with dst:
            src.backup(dst)  # one consistent snapshot, writers keep going
        src.close()
        dst.close()
        docs = Path(document_dir)
        files = [p for p in docs.rglob("*") if p.is_file()] if docs.exists() else []
        manifest = {"created_at": clock.now().isoformat(),
                    "database": "gridcare.db", "documents": len(files)}
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with tarfile.open(partial, "w:gz") as archive:
            archive.add(snapshot, arcname="gridcare.db")
            for path in files:
                archive.add(path, arcname=f"documents/{path.relative_to(docs)}")
            data = json.dumps(manifest, ensure_ascii=False).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        partial.replace(out)
    return {"documents": len(files), "bytes": out.stat().st_size, "file": str(out)}


def restore(archive_path: Path, database_url: str, document_dir: str) -> dict[str, int | str]:
    """Restore into the configured locations; the previous database is kept as .bak.
    Stop the application first."""
    target = sqlite_path(database_url)
    if not archive_path.exists():
        raise BackupError(f"no backup at {archive_path}")
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive_path, "r:gz") as archive:
        names = archive.getnames()
        if "gridcare.db" not in names or "manifest.json" not in names:
            raise BackupError(f"{archive_path} is not a GridCare backup")
        archive.extractall(tmp, filter="data")
        restored = Path(tmp) / "gridcare.db"
        check = sqlite3.connect(str(restored))
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
        check.close()
        if result != "ok":
            raise BackupError(f"the backup's database is damaged: {result}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.replace(target.with_suffix(target.suffix + ".bak"))
        for suffix in ("-wal", "-shm"):
            stale = Path(str(target) + suffix)
            if stale.exists():
                stale.unlink()
        restored.replace(target)
        docs_src = Path(tmp) / "documents"
        count = 0
        if docs_src.exists():
            for path in docs_src.rglob("*"):
                if path.is_file():
                    dest = Path(document_dir) / path.relative_to(docs_src)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    path.replace(dest)
                    count += 1
    return {"documents": count, "database": str(target)}
