"""A widget's data as a CSV or XLSX file (issue 12): what ``DashboardService.rows`` returns.

The rows come from the engine under the viewer's permissions, so a file holds only what
its viewer may read. Two guards for spreadsheets:

- **Formula injection**: a text cell beginning with ``=``, ``+``, ``-``, ``@`` (or a tab /
  carriage return) would be run as a formula by Excel or LibreOffice; such cells are
  written with a leading apostrophe ``'`` (OWASP's advice). Numbers are left as numbers.
- **Excel and Chinese**: CSV is UTF-8 with a byte order mark, which Excel needs to read
  UTF-8 instead of the system code page; XLSX cells are Unicode anyway.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
_SHEET_TITLE = re.compile(r"[\[\]:*?/\\]")
#: Rows a file holds at most (an export is a widget's result, which the engine bounds).
MAX_ROWS = 100_000


def safe_text(value: str) -> str:
    """``value`` prefixed with ``'`` when a spreadsheet would read it as a formula."""
    return "'" + value if value.startswith(_DANGEROUS) else value


def cell_value(value: Any) -> Any:
    """A cell for a spreadsheet: numbers and dates as they are, text guarded, None empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is not None else value
    if isinstance(value, date):
        return value
    if isinstance(value, list | tuple):
        return safe_text(", ".join("" if v is None else str(v) for v in value))
    return safe_text(str(value))


def to_csv(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """UTF-8 CSV with a byte order mark; every text cell guarded against formulas."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell_value(h) for h in header])
    for row in rows[:MAX_ROWS]:
        writer.writerow(["" if (v := cell_value(x)) is None else
                         (v.isoformat() if isinstance(v, date | datetime) else v) for x in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def to_xlsx(header: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str = "data") -> bytes:
    """One sheet named ``title``: a bold header row, then the rows (openpyxl, write-only)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=(_SHEET_TITLE.sub(" ", title).strip() or "data")[:31])
    bold = Font(bold=True)
    head = []
    for name in header:
        cell = WriteOnlyCell(sheet, value=cell_value(name))
        cell.font = bold
        head.append(cell)
    sheet.append(head)
    for row in rows[:MAX_ROWS]:
        sheet.append([cell_value(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export(header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, *, title: str = "data") -> bytes:
    """The file of ``fmt`` (csv or xlsx); ValueError for another format."""
    if fmt == "csv":
        return to_csv(header, rows)
    if fmt == "xlsx":
        return to_xlsx(header, rows, title=title)
    raise ValueError(f"unknown export format {fmt!r}")
