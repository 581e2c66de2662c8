"""An import file is read as a roster file is (``common.csv_files``): the same encodings,
delimiters, quoting and line numbers, with the import's own columns and words."""

import io

import pytest

from imports.parsing import ImportFileError, import_file_parse, import_file_read

HEADER = "name,semester,type,groups,discordGuildId"


def parse(content: bytes):
    return import_file_parse(content=import_file_read(io.BytesIO(content)), format="csv")


def test_a_row_with_a_line_break_in_a_quoted_cell_is_numbered_by_its_first_line():
    parsed = parse(f'{HEADER}\n"Algo\nrithms",2026-fall,lab,A,\nDB,2026-fall,lecture,,\n'.encode())
    assert [(row.line, row.name) for row in parsed] == [(2, "Algo\nrithms"), (4, "DB")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        # A stray quote used to swallow the rest of the file into one cell, silently.
        (f'{HEADER}\n"Algo,2026-fall,lab,,\nDB,2026-fall,lecture,,\n'.encode(), "(line 3)"),
        (f'{HEADER}\n"Algo" I,2026-fall,lab,,\n'.encode(), "(line 2)"),
        (f"{HEADER}\nAlgo,2026-fall,lab,,\x00\n".encode(), "NUL bytes"),
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel or OpenDocument workbook, not a CSV file"),
        (f"{HEADER}\nZo\u00eb,2026-fall,lab,,\n".encode("latin-1"), "save it as CSV (UTF-8)"),
    ],
)
def test_files_that_are_not_csv_text_are_clear_errors(content, message):
    with pytest.raises(ImportFileError) as error:
        parse(content)
    assert message in str(error.value)


def test_a_header_with_semicolons_and_no_comma_is_read_with_semicolons():
    parsed = parse(b'name;semester;type;groups\nAlgo;2026-fall;lab;"Monday;Thursday"\n')
    assert [(row.line, row.name, row.groups) for row in parsed] == [
        (2, "Algo", ["Monday", "Thursday"])
    ]


def test_a_column_given_twice_is_refused_not_read_as_its_last_cell():
    with pytest.raises(ImportFileError) as error:
        parse(b"name,semester,type,Name\nAlgorithms,2026-fall,lecture,Databases\n")
    assert str(error.value) == "Column(s) name appear more than once."
