"""The one writer of spreadsheet exports (XLSX and CSV), used by every export of customers
or orders, on screens and APIs alike.

Cell text comes from people (an address typed by a district manager, a name from the
marketing system): text that a spreadsheet would run as a formula — beginning with ``=``,
``+``, ``-`` or ``@``, or with a tab or carriage return before one (OWASP, "CSV injection") —
is written as text: in XLSX a string cell with the quote prefix (Excel shows the text as typed
and never evaluates it); in CSV behind a leading apostrophe.  Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable, Sequence

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def csv_cell(value: Any) -> Any:
    return "'" + value if is_formula_like(value) else value


def to_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """UTF-8 with a BOM (so Excel reads the Chinese headers), formula-like text defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in headers])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(headers: Sequence[str], rows: Iterable[Sequence[Any]], sheet_title: str = "Sheet1") -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)

    def cell(value: Any) -> Any:
        if not is_formula_like(value):
            return value
        text = WriteOnlyCell(sheet, value=value)
        text.data_type = "s"  # openpyxl typed it "f" (formula) from the leading character
        text.quotePrefix = True
        return text

    sheet.append([cell(h) for h in headers])
    for row in rows:
        sheet.append([cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
