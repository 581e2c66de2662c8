"""Reading an uploaded CSV file: its text, and its records numbered by the file's lines.

The same for every file the project takes (a course's roster, a semester's import): UTF-8 with or
without a byte order mark, any line end, a comma unless the header has only semicolons or tabs,
strict quoting. What the columns are, and how a row's problems are worded, stay the caller's;
``CsvFileError``'s message is said to the user as it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

# Files that are plainly not text: an Excel workbook or an OpenDocument sheet (zip), a PDF.
BINARY_SIGNATURES = {
    b"PK\x03\x04": "an Excel or OpenDocument workbook",
    b"%PDF": "a PDF",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook",
}


class CsvFileError(ValueError):
    """The file as a whole cannot be read as CSV text."""


def csv_text(content: bytes) -> str:
    """``content`` read as UTF-8, with or without a byte order mark; ``CsvFileError`` saying
    what the bytes look like when they are not text (a workbook, a PDF, another encoding)."""
    for signature, what in BINARY_SIGNATURES.items():
        if content.startswith(signature):
            raise CsvFileError(
                f"This is {what}, not a CSV file: save the sheet as CSV (UTF-8) and send that."
            )
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvFileError(
            "The file is not UTF-8 text: save it as CSV (UTF-8) and send it again."
        ) from None


def csv_records(text: str) -> Iterator[tuple[int, list[str]]]:
    """The header (the first record, as it is) then every record that is not blank, each with
    the line it starts on (the header is line 1; a quoted cell may hold line breaks).
    ``CsvFileError`` with the line where the file stops being CSV."""
    if "\x00" in text:
        raise CsvFileError("The file holds NUL bytes: it is not a CSV text file.")
    # Any line end (\r\n, \n, and the lone \r of older Mac spreadsheets): newline="" lets the
    # csv module split on each, keeping the line ends inside quoted cells as they are.
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=_delimiter(first_line), strict=True
    )
    start = 1
    try:
        for cells in reader:
            if start == 1 or any(cell.strip() for cell in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CsvFileError(f"Not a readable CSV file (line {reader.line_num}): {exc}.") from None


def _delimiter(header_line: str) -> str:
    """A comma, unless the header has none but semicolons or tabs (spreadsheets in locales with
    a decimal comma save CSV with semicolons)."""
    if "," not in header_line:
        for candidate in (";", "\t"):
            if candidate in header_line:
                return candidate
    return ","
