"""The shared CSV/XLSX reader: physical line numbers, encodings, header problems, cells read as text."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cme_tracker.tabular import reader
from cme_tracker.tabular.reader import MAX_XLSX_UNPACKED_BYTES, Layout, Table, read_table

LAYOUT = Layout(required=("code", "name"), optional=("note",))
ERROR_FORMAT = re.compile(r"^[^:]+\.(csv|xlsx)(:\d+(:[^:]+)?)?: \S.*", re.DOTALL)


def read_bytes(tmp_path: Path, data: bytes, name: str = "table.csv") -> Table:
    path = tmp_path / name
    path.write_bytes(data)
    return read_table(path, LAYOUT, name=name)


def messages(table: Table) -> list[str]:
    return [str(error) for error in table.errors]


def test_rows_are_numbered_by_physical_line_with_the_header_on_line_1(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,name\nA,Alpha\nB,Beta\n")
    assert table.errors == ()
    assert [(row.line, dict(row.values)) for row in table.rows] == [
        (2, {"code": "A", "name": "Alpha"}),
        (3, {"code": "B", "name": "Beta"}),
    ]


def test_a_quoted_cell_with_line_breaks_shifts_the_lines_after_it(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b'code,name,note\r\nA,"two\r\nlines",after\r\nB,Beta,\r\n')
    first, second = table.rows
    assert first.values["name"] == "two\r\nlines"
    assert (first.line_of("code"), first.line_of("name"), first.line_of("note")) == (2, 2, 3)
    assert second.line == 4


def test_blank_lines_are_skipped_but_still_counted(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"\ncode,name\n\nA,Alpha\n,,\n\nB,Beta\n")
    assert table.header_line == 2
    assert [row.line for row in table.rows] == [4, 7]


def test_a_lone_carriage_return_ends_a_line_too(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,name\rA,Alpha\rB,Beta\r")
    assert [row.line for row in table.rows] == [2, 3]


def test_a_utf8_bom_is_accepted_and_not_part_of_the_first_column(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, "code,name\nA,髙橋\n".encode("utf-8-sig"))
    assert table.errors == ()
    assert table.rows[0].values == {"code": "A", "name": "髙橋"}


def test_columns_may_come_in_any_order(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"note,name,code\nn,Alpha,A\n")
    assert table.columns == ("note", "name", "code")
    assert table.rows[0].values == {"code": "A", "name": "Alpha", "note": "n"}


def test_identifiers_keep_their_leading_zeros(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,name\n000123,Alpha\n")
    assert table.rows[0].values["code"] == "000123"


def test_shift_jis_is_refused_naming_the_file_and_the_fix(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, "code,name\nA,髙橋 一郎\n".encode("cp932"), "members.csv")
    assert messages(table) == [
        "members.csv: not UTF-8 (looks like Shift_JIS); save it as UTF-8 (in Excel: CSV UTF-8)"
    ]
    assert table.rows == ()


def test_invalid_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,name\nA,Alpha\nB,\xff\xfe\xfd\n")
    assert messages(table) == ["table.csv:3: not UTF-8 (byte 0xff); save it as UTF-8"]


def test_utf16_is_refused_with_the_excel_setting_to_use(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, "code,name\nA,Alpha\n".encode("utf-16"))
    assert "UTF-16" in messages(table)[0]
    assert "CSV UTF-8" in messages(table)[0]


def test_a_nul_character_is_refused_at_its_line(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,name\nA,Alpha\nB,Be\x00ta\n")
    assert messages(table) == ["table.csv:3: contains a NUL character; is it really a CSV text file?"]


def test_a_workbook_named_csv_is_recognised(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"PK\x03\x04rest of a zip file")
    assert "name it .xlsx" in messages(table)[0]


@pytest.mark.parametrize(("name", "hint"), [("table.xls", "save it as .xlsx"), ("table.txt", "use a .csv")])
def test_other_file_types_are_refused_with_a_hint(tmp_path: Path, name: str, hint: str) -> None:
    assert hint in messages(read_bytes(tmp_path, b"code,name\nA,B\n", name))[0]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert messages(read_bytes(tmp_path, b"")) == [
        "table.csv: the file is empty; it needs a header row and at least one row"
    ]
    assert messages(read_bytes(tmp_path, b"\r\n\r\n,,\r\n"))[0].startswith("table.csv: the file is empty")


def test_a_header_without_rows_is_refused(tmp_path: Path) -> None:
    assert messages(read_bytes(tmp_path, "\ufeffcode,name\n".encode())) == [
        "table.csv: has a header row but no rows to import"
    ]


def test_unknown_missing_and_duplicate_columns_are_all_reported_on_line_1(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,nmae,code,colour\nA,B,C,D\n")
    assert messages(table) == [
        "table.csv:1:nmae: unknown column; did you mean name?",
        "table.csv:1:code: duplicate column (also column 1)",
        "table.csv:1:colour: unknown column; the columns are code, name, note",
        "table.csv:1:name: required column is missing",
    ]
    assert table.missing_columns == ("name",)


@pytest.mark.parametrize(
    ("header", "label"), [(b":", "column 3"), (b"a\tb", "column 3"), (b" x:y ", "column 3")]
)
def test_a_header_that_would_garble_the_error_format_is_named_by_position(
    tmp_path: Path, header: bytes, label: str
) -> None:
    table = read_bytes(tmp_path, b"code,name," + header + b"\nA,B,C\n")
    assert messages(table)[0].startswith(f"table.csv:1:{label}: unknown column {header.decode().strip()!r}; ")


def test_a_header_separated_by_semicolons_gets_a_hint(tmp_path: Path) -> None:
    assert "separated by ';'" in messages(read_bytes(tmp_path, b"code;name\nA;B\n"))[0]


def test_rows_with_too_many_or_too_few_cells_are_reported_where_they_are(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,name\nA,Alpha,extra\nB\nC,Gamma,\n")
    assert messages(table) == [
        "table.csv:2:column 3: a value beyond the last column",
        "table.csv:3:name: missing: the row has 1 cells, the header 2",
    ]
    assert [row.values["code"] for row in table.rows] == ["C"]


def test_a_value_under_an_empty_header_cell_is_reported(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"code,,name\nA,,Alpha\nB,oops,Beta\n")
    assert messages(table) == ["table.csv:3:column 2: a value in a column without a header"]


def test_an_unclosed_quote_is_reported_on_the_line_where_it_opens(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b'code,name\nA,Alpha\nB,"Beta\nC,Gamma\n')
    assert messages(table) == [
        "table.csv:3: a quoted cell starting on this line is never closed (a missing '\"')"
    ]


def test_text_after_a_closing_quote_is_reported(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b'code,name\nA,"Al"pha\n')
    assert messages(table)[0].startswith("table.csv:2: text after a closing '\"'")


def test_the_file_is_named_as_given(tmp_path: Path) -> None:
    path = tmp_path / "in" / "table.csv"
    path.parent.mkdir()
    path.write_bytes(b"code\nA\n")
    assert str(read_table(path, LAYOUT).errors[0]) == f"{path}:1:name: required column is missing"


# --- XLSX -------------------------------------------------------------------------------------------------


def write_xlsx(path: Path, rows: list[list[object]], formats: dict[str, str] | None = None) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    workbook.save(path)
    return path


def test_xlsx_numbers_are_read_as_the_text_a_person_sees(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "table.xlsx",
        [["code", "name", "note"], [123, 276123456789012, 1.5], [42, "000123", 7.0]],
        {"A3": "000000"},
    )
    table = read_table(path, LAYOUT)
    assert table.errors == ()
    assert [dict(row.values) for row in table.rows] == [
        {"code": "123", "name": "276123456789012", "note": "1.5"},
        {"code": "000042", "name": "000123", "note": "7"},
    ]


def test_xlsx_dates_and_times_are_read_in_iso_form(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "table.xlsx",
        [
            ["code", "name", "note"],
            [date(2026, 5, 16), time(10, 30), datetime(2026, 5, 16, 9, 55)],
            [datetime(2026, 5, 16), time(9, 5, 30), True],
        ],
    )
    rows = [dict(row.values) for row in read_table(path, LAYOUT).rows]
    assert rows == [
        {"code": "2026-05-16", "name": "10:30", "note": "2026-05-16T09:55"},
        {"code": "2026-05-16", "name": "09:05:30", "note": "true"},
    ]


def test_xlsx_rows_are_numbered_by_their_row_in_the_sheet(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "table.xlsx", [["code", "name"], ["A", "Alpha"], [], [None, None], ["B", "Beta"]]
    )
    table = read_table(path, LAYOUT)
    assert [row.line for row in table.rows] == [2, 5]


def test_a_broken_xlsx_is_refused_naming_the_file(tmp_path: Path) -> None:
    table = read_bytes(tmp_path, b"PK\x03\x04not really a workbook", "table.xlsx")
    assert messages(table)[0].startswith("table.xlsx: not a readable .xlsx workbook")


def test_an_xlsx_that_unpacks_past_the_limit_is_refused_before_openpyxl_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_xlsx(tmp_path / "table.xlsx", [["code", "name"], ["A", "Alpha"]])
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/padding.bin", b"\0" * (MAX_XLSX_UNPACKED_BYTES + 1))
    assert path.stat().st_size < 1024 * 1024  # a small file that unpacks to more than the limit
    opened: list[object] = []
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *args, **kwargs: opened.append(args))
    table = read_table(path, LAYOUT)
    assert table.rows == ()
    unpacked = MAX_XLSX_UNPACKED_BYTES + 1 + _parts_size(path)
    assert messages(table) == [
        f"{path}: the workbook unpacks to {unpacked:,} bytes, more than {MAX_XLSX_UNPACKED_BYTES:,}; "
        "save it again without images and unused sheets, or as CSV UTF-8"
    ]
    assert opened == []


def _parts_size(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(item.file_size for item in archive.infolist() if item.filename != "xl/media/padding.bin")


def test_an_xlsx_with_more_cells_than_the_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "MAX_XLSX_CELLS", 20)
    small = write_xlsx(tmp_path / "small.xlsx", [["code", "name"], *[[f"C{n}", "x"] for n in range(5)]])
    assert read_table(small, LAYOUT).errors == ()
    large = write_xlsx(tmp_path / "large.xlsx", [["code", "name"], *[[f"C{n}", "x"] for n in range(10)]])
    table = read_table(large, LAYOUT)
    assert table.rows == ()
    assert messages(table) == [f"{large}: the worksheet has more than 20 cells; split the file"]


# --- fuzzing ----------------------------------------------------------------------------------------------

cell_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_give_rows_or_located_errors_never_a_crash(tmp_path: Path, data: bytes) -> None:
    table = read_bytes(tmp_path, data)
    for message in messages(table):
        assert ERROR_FORMAT.match(message), message


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.tuples(cell_text, cell_text, cell_text), max_size=6),
    bom=st.booleans(),
    terminator=st.sampled_from(["\r\n", "\n"]),
)
def test_any_table_written_as_csv_reads_back_with_its_physical_lines(
    tmp_path: Path, rows: list[tuple[str, str, str]], bom: bool, terminator: str
) -> None:
    # With "\n" line ends, Python 3.11's writer leaves a lone "\r" unquoted; quoting every cell avoids that.
    quoting = csv.QUOTE_MINIMAL if terminator == "\r\n" else csv.QUOTE_ALL
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=terminator, quoting=quoting)
    writer.writerow(["code", "name", "note"])
    writer.writerows(rows)
    text = buffer.getvalue()
    table = read_bytes(tmp_path, (("\ufeff" if bom else "") + text).encode())
    expected, line = [], 2
    for row in rows:
        if any(cell.strip() for cell in row):
            expected.append((line, dict(zip(("code", "name", "note"), row, strict=True))))
        rendered = io.StringIO(newline="")
        csv.writer(rendered, lineterminator=terminator, quoting=quoting).writerow(row)
        value = rendered.getvalue()
        line += value.count("\n") + value.count("\r") - value.count("\r\n")
    assert [(row.line, dict(row.values)) for row in table.rows] == expected
    if not expected:
        assert messages(table) == ["table.csv: has a header row but no rows to import"]
