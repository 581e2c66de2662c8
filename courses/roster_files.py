"""Roster files: reading ``name,email,github,role,group`` (CSV, or the same as JSON) and writing
the roster and its link sheet back as CSV.

Only the file's shape is checked here (encoding, header, JSON types); what a member may be is
``courses.roster``'s rule, checked against the course by its plan.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import IO, Any

from common.csv_files import CsvFileError, csv_records, csv_text

COLUMNS = ("name", "email", "github", "role", "group")
MAX_ROWS = 3000
# 3,000 members take about 300 KB: a larger file is not a roster, and is refused before it is read
# whole (its rows would be counted only once all were parsed). Through the API the body cap
# (API_MAX_BODY_BYTES) comes first.
MAX_BYTES = 512 * 1024
# What a spreadsheet opens as a formula when a cell starts with it (CSV injection). Exported cells
# are never quoted away from it: the roster's rules refuse such names and emails at the import,
# so the export is safe to open and still reads back as it was.
FORMULA_STARTS = ("=", "+", "-", "@")


class RosterFileError(ValueError):
    """The file as a whole cannot be read: not text, not CSV or JSON, no header, too long."""


@dataclass
class RosterRow:
    """One member as written in the file; ``errors`` are problems of its shape.

    ``line`` is the file's line (the header is line 1) or, in JSON, the item's number from 1.
    """

    line: int
    name: str = ""
    email: str = ""
    github: str = ""
    role: str = ""
    group: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)


def roster_format_guess(*, content: str | bytes, filename: str = "") -> str:
    """``json`` for a ``.json`` file or content that starts like JSON, else ``csv``."""
    head = content[:64].decode("utf-8", "replace") if isinstance(content, bytes) else content[:64]
    if filename.lower().endswith(".json") or head.lstrip("\ufeff \t\r\n")[:1] in ("[", "{"):
        return "json"
    return "csv"


def roster_file_read(stream: IO[bytes]) -> bytes:
    """The bytes of an uploaded or opened file (or standard input), reading no more than
    ``MAX_BYTES`` and one: ``RosterFileError`` past it."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise RosterFileError(_too_large())
    return data


def _too_large() -> str:
    return (
        f"The file is larger than {MAX_BYTES // 1024} KiB, more than a roster of {MAX_ROWS:,} "
        "members: check that it is the right file, or split it."
    )


def roster_parse(*, content: str | bytes, format: str = "csv") -> list[RosterRow]:
    """The members of ``content`` (``format``: ``csv`` or ``json``); bytes are read as UTF-8,
    with or without a byte order mark. ``RosterFileError`` when the file cannot be read."""
    size = len(content) if isinstance(content, bytes) else len(content.encode("utf-8", "replace"))
    if size > MAX_BYTES:
        raise RosterFileError(_too_large())
    text = _text(content)
    rows = _parse_json(text) if format == "json" else _parse_csv(text)
    if not rows:
        raise RosterFileError("The file holds no member.")
    if len(rows) > MAX_ROWS:
        raise RosterFileError(f"At most {MAX_ROWS} members per file; the file has more.")
    return rows


def roster_csv(rows: list[list[str]], *, header: tuple[str, ...] = COLUMNS) -> str:
    """``rows`` as CSV under ``header`` (``\\r\\n`` line ends, as spreadsheets write them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def roster_text(content: bytes) -> str:
    """``content`` read as UTF-8, with or without a byte order mark; ``RosterFileError`` saying
    what the bytes look like when they are not text (a workbook, a PDF, another encoding)."""
    return _text(content)


def _text(content: str | bytes) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    try:
        return csv_text(content)
    except CsvFileError as exc:
        raise RosterFileError(str(exc)) from None


def _parse_csv(text: str) -> list[RosterRow]:
    records = csv_records(text)
    try:
        _, header = next(records, (1, None))
        if header is None or not any(cell.strip() for cell in header):
            raise RosterFileError(f"The file is empty: the first line is the header {_HEADER}.")
        known = _columns(header)
        rows: list[RosterRow] = []
        for line, cells in records:
            row = RosterRow(line=line)
            if len(cells) > len(known):
                row.errors.append(("row", f"{len(cells)} cells for {len(known)} columns."))
            else:
                stray = next(
                    (i for i, cell in enumerate(cells) if known[i] is None and cell.strip()), None
                )
                if stray is not None:
                    row.errors.append(
                        ("row", f"A value in column {stray + 1}, which has no header.")
                    )
            values = {
                column: cells[i].strip()
                for i, column in enumerate(known)
                if column is not None and i < len(cells)
            }
            _fill(row, values)
            rows.append(row)
            if len(rows) > MAX_ROWS:
                break
    except CsvFileError as exc:
        raise RosterFileError(str(exc)) from None
    return rows


_HEADER = ",".join(COLUMNS)


def _columns(header: list[str]) -> list[str | None]:
    """The header's columns, in file order, checked: known names only (any case), ``name``
    and at least one of ``email`` and ``github``. A blank header cell is a column to ignore (a
    sheet whose used range is wider than its data saves ``name,email,,``): ``None``, like the
    value of an unknown one, but allowed."""
    names = [cell.strip() for cell in header]
    known = [column.lower() if column.lower() in COLUMNS else None for column in names]
    unknown = [names[i] for i, column in enumerate(known) if column is None and names[i]]
    if unknown and not any(known):
        raise RosterFileError(
            f"The first line must be the header {_HEADER} (it is {','.join(names)[:200]})."
        )
    if unknown:
        listed = ", ".join(unknown)[:200]
        raise RosterFileError(f"Unknown column(s) {listed}: the columns are {_HEADER}.")
    repeated = sorted({column for column in known if column and known.count(column) > 1})
    if repeated:
        raise RosterFileError(f"Column(s) {', '.join(repeated)} appear more than once.")
    if "name" not in known or not {"email", "github"} & set(known):
        raise RosterFileError(
            f"The header needs name, and email or github (or both): the columns are {_HEADER}."
        )
    return known


def _parse_json(text: str) -> list[RosterRow]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise RosterFileError(
            f"Not valid JSON: send a list of members (objects with {_HEADER})."
        ) from None
    if isinstance(data, dict) and isinstance(data.get("members"), list):
        data = data["members"]
    if not isinstance(data, list):
        raise RosterFileError('Send a JSON list of members (or {"members": [...]}).')
    rows = []
    for number, item in enumerate(data[: MAX_ROWS + 1], start=1):
        row = RosterRow(line=number)
        rows.append(row)
        if not isinstance(item, dict):
            row.errors.append(("row", f"Each member is a JSON object with {_HEADER}."))
            continue
        for key in sorted(set(map(str, item)) - set(COLUMNS)):
            row.errors.append((key[:50], "Unknown field."))
        values: dict[str, str] = {}
        for key in COLUMNS:
            value: Any = item.get(key)
            if value is None:
                continue
            if key == "group" and isinstance(value, int) and not isinstance(value, bool):
                values[key] = str(value)
            elif isinstance(value, str):
                values[key] = value.strip()
            else:
                kind = "a number or a string" if key == "group" else "a string"
                row.errors.append((key, f"Give {kind}."))
        _fill(row, values)
    return rows


def _fill(row: RosterRow, values: dict[str, str]) -> None:
    row.name = values.get("name", "")
    row.email = values.get("email", "")
    row.github = values.get("github", "")
    row.role = values.get("role", "")
    row.group = values.get("group", "")
