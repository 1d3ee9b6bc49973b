"""Widget exports: formula cells neutralised, a BOM for Excel, XLSX readable back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from runtime.dashboard_export import cell_value, export, to_csv, to_xlsx

HEADER = ["区域", "数量", "备注"]
ROWS = [["华东", 12, "=HYPERLINK(\"http://x\")"], ["@SUM(A1)", Decimal("3.5"), "-1+2"],
        ["+cmd", None, "plain"], ["\ttab", 0, "普通文本"]]


def test_csv_has_a_bom_and_guards_formula_cells() -> None:
    data = to_csv(HEADER, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data[3:].decode("utf-8").splitlines()
    assert lines[0] == "区域,数量,备注"
    assert lines[1] == "华东,12,\"'=HYPERLINK(\"\"http://x\"\")\""
    assert lines[2] == "'@SUM(A1),3.5,'-1+2"
    assert lines[3] == "'+cmd,,plain"
    assert lines[4].startswith("'\ttab,0,")


def test_numbers_stay_numbers_and_dates_iso() -> None:
    assert cell_value(-5) == -5 and cell_value(Decimal("-1.5")) == Decimal("-1.5")
    assert cell_value(["a", "=b"]) == "a, =b"
    assert cell_value(["=b"]) == "'=b"
    assert b"2026-11-27" in to_csv(["d"], [[date(2026, 11, 27)]])


def test_xlsx_reads_back_with_guarded_text_and_numbers() -> None:
    data = to_xlsx(HEADER, ROWS, title="topics/week")
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "topics week"
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == HEADER
    assert values[1] == ["华东", 12, "'=HYPERLINK(\"http://x\")"]
    assert values[2][0] == "'@SUM(A1)" and values[2][1] == 3.5
    assert sheet.cell(row=1, column=1).font.bold
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_unknown_format_is_refused() -> None:
    try:
        export(HEADER, ROWS, "pdf")
    except ValueError as exc:
        assert "pdf" in str(exc)
    else:
        raise AssertionError("pdf accepted")
