"""Chinese (default) and English catalogues.

Each domain keeps its own ``<locale>/LC_MESSAGES/<domain>.po`` (so parallel work never edits
one file); at start-up they are merged and compiled into ``messages.mo`` when any of them is
newer than it.  No binary is kept in git.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def compile_catalogues() -> None:
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for folder in HERE.glob("*/LC_MESSAGES"):
        # The spine's messages.po first: babel keeps the first text of a message, so when two
        # catalogues give one label different texts the spine's wording (shared labels) wins.
        sources = sorted(folder.glob("*.po"), key=lambda p: (p.name != "messages.po", p.name))
        if not sources:
            continue
        mo_path = folder / "messages.mo"
        newest = max(p.stat().st_mtime for p in sources)
        if mo_path.exists() and mo_path.stat().st_mtime >= newest:
            continue
        locale = folder.parent.name
        merged = Catalog(locale=locale)
        for po_path in sources:
            with po_path.open("rb") as po_file:
                for message in read_po(po_file, locale=locale):
                    if message.id and message.string:
                        merged[message.id] = message
        # A file of this process's own, renamed over the catalogue: processes starting side by
        # side (the test passes, gunicorn's workers) each write whole catalogues, never each
        # other's half-written one.
        handle, tmp_name = tempfile.mkstemp(prefix="messages.", suffix=".mo.tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as mo_file:
                write_mo(mo_file, merged)
            os.chmod(tmp_name, 0o644)
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
