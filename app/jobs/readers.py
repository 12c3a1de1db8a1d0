"""Streaming readers for marketing-system exports: CSV (UTF-8 with or without BOM, GBK),
XLSX and JSON lines.  Each yields records one at a time, so memory does not grow with the
file; the byte position read so far drives the progress bar."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path
from typing import Any, Callable, Iterator

SAMPLE_BYTES = 1 << 20


class Record:
    """One data row: its row number in the file (the header is row 1), the cells in
    header order (``cells``) or by key (``values``, JSON lines), and the raw text.

    The raw text of a CSV or XLSX row is only needed when the row is quarantined, so it is
    written back from the cells on first use rather than for every row."""

    __slots__ = ("number", "cells", "values", "_raw")

    def __init__(self, number: int, cells: list[Any] | None, values: dict[str, Any] | None,
                 raw: str | None = None) -> None:
        self.number = number
        self.cells = cells
        self.values = values
        self._raw = raw

    @property
    def raw(self) -> str:
        if self._raw is None:
            cells = self.cells or []
            self._raw = _csv_line(["" if c is None else str(c) for c in cells])
        return self._raw

    def kept(self) -> Any:
        """What a batch keeps of the row until it is applied: the raw text, or the cells as a
        tuple of plain values — a form the garbage collector stops tracking, so a batch of
        ten thousand rows held in memory does not make every collection walk it."""
        return self._raw if self._raw is not None else tuple(self.cells or ())

    @classmethod
    def from_kept(cls, number: int, kept: Any) -> "Record":
        if isinstance(kept, str):
            return cls(number, None, None, kept)
        return cls(number, list(kept), None)

    def undecodable(self) -> bool:
        """Whether the decoder had to replace a byte (errors="replace") anywhere in the row."""
        if self._raw is not None:
            return "\ufffd" in self._raw
        try:
            return "\ufffd" in "".join(self.cells or ())
        except TypeError:  # XLSX cells: numbers and dates beside the text
            return any(isinstance(c, str) and "\ufffd" in c for c in self.cells or ())


class FileFormatError(Exception):
    """The file as a whole cannot be read (format, encoding, header)."""


class _CountingReader(io.RawIOBase):
    """A binary reader that remembers how many bytes it has handed out."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.consumed += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def detect_encoding(path: Path) -> str:
    """utf-8-sig when there is a BOM, utf-8 when the sample decodes as such, else GB18030
    (a superset of GBK that also decodes the characters GBK exports sometimes carry)."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the end of the sample is not evidence against UTF-8.
        if len(sample) == SAMPLE_BYTES and error.start >= len(sample) - 3:
            return "utf-8"
    return "gb18030"


class Reader:
    """Opens one file; ``header`` is read at once, ``records()`` streams the rest."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.format = detect_format(self.path)
        self.size = self.path.stat().st_size
        self.encoding: str | None = None
        self.header: list[str] = []
        self._position: Callable[[], float] = lambda: 0.0
        self._iter: Iterator[Record]
        if self.format == "csv":
            self._open_csv()
        elif self.format == "xlsx":
            self._open_xlsx()
        else:
            self._open_jsonl()

    def progress(self) -> float:
        """Share of the file read so far, 0…1."""
        return min(1.0, self._position())

    def records(self) -> Iterator[Record]:
        return self._iter

    def close(self) -> None:
        closer = getattr(self, "_closer", None)
        if closer is not None:
            closer()

    # --- CSV -----------------------------------------------------------------------
    def _open_csv(self) -> None:
        self.encoding = detect_encoding(self.path)
        counting = _CountingReader(self.path.open("rb"))
        # errors="replace": an undecodable byte spoils its row (quarantined), not the file.
        text = io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding=self.encoding,
                                errors="replace", newline="")
        self._closer = text.close
        self._position = lambda: counting.consumed / self.size if self.size else 1.0
        reader = csv.reader(text)
        try:
            self.header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise FileFormatError("the file is empty: no header row") from None
        except csv.Error as error:
            raise FileFormatError(f"the header row cannot be read: {error}") from None

        def rows() -> Iterator[Record]:
            number = 1
            while True:
                number += 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as error:
                    yield Record(number, None, None, f"<unreadable: {error}>")
                    continue
                if not cells or (len(cells) == 1 and not cells[0].strip()):
                    continue  # blank line
                yield Record(number, cells, None)

        self._iter = rows()

    # --- XLSX ----------------------------------------------------------------------
    def _open_xlsx(self) -> None:
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(self.path, read_only=True, data_only=True)
        except Exception as error:  # zipfile.BadZipFile, KeyError, InvalidFileException…
            raise FileFormatError(f"not a readable XLSX workbook: {error}") from None
        self._closer = workbook.close
        sheet = workbook.worksheets[0]
        total = sheet.max_row or 0
        rows_iter = sheet.iter_rows(values_only=True)
        try:
            first = next(rows_iter)
        except StopIteration:
            raise FileFormatError("the sheet is empty: no header row") from None
        header = [("" if c is None else str(c)).strip() for c in first]
        while header and not header[-1]:
            header.pop()
        self.header = header
        state = {"row": 1}
        self._position = lambda: state["row"] / total if total else 0.0

        def rows() -> Iterator[Record]:
            number = 1
            for values in rows_iter:
                number += 1
                state["row"] = number
                cells = list(values)
                while len(cells) > len(header) and cells[-1] in (None, ""):
                    cells.pop()
                if all(c in (None, "") for c in cells):
                    continue
                cells += [None] * (len(header) - len(cells)) if len(cells) < len(header) else []
                yield Record(number, cells, None)

        self._iter = rows()

    # --- JSON lines ------------------------------------------------------------------
    def _open_jsonl(self) -> None:
        self.encoding = detect_encoding(self.path)
        counting = _CountingReader(self.path.open("rb"))
        text = io.TextIOWrapper(io.BufferedReader(counting, 1 << 16), encoding=self.encoding,
                                errors="replace")
        self._closer = text.close
        self._position = lambda: counting.consumed / self.size if self.size else 1.0
        # The first object's keys are the header; every line is read on its own.
        first_line, first_number = "", 0
        for first_number, line in enumerate(text, start=1):
            if line.strip():
                first_line = line
                break
        if not first_line:
            raise FileFormatError("the file is empty: no record")
        try:
            first = json.loads(first_line)
        except json.JSONDecodeError as error:
            raise FileFormatError(f"line {first_number} is not JSON: {error}") from None
        if not isinstance(first, dict):
            raise FileFormatError(f"line {first_number} is not a JSON object")
        self.header = [str(k).strip() for k in first]

        def rows() -> Iterator[Record]:
            yield Record(first_number, None, first, first_line.strip())
            for number, line in enumerate(text, start=first_number + 1):
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as error:
                    yield Record(number, None, None, f"<not JSON: {error}> {line.strip()[:500]}")
                    continue
                if not isinstance(value, dict):
                    yield Record(number, None, None, line.strip()[:2000])
                    continue
                yield Record(number, None, value, line.strip())

        self._iter = rows()


def _csv_line(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()
