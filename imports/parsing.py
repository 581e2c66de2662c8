"""Reading an import file: CSV ``name,semester,type,groups,discordGuildId`` or the same as JSON.

Only the file's shape is checked here (columns, JSON types); what a course may be is
``courses.services.course_check``'s, applied by the plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, Any

from common.csv_files import CsvFileError, csv_records, csv_text

COLUMNS = ("name", "semester", "type", "groups", "discordGuildId")
REQUIRED = ("name", "semester", "type")
MAX_ROWS = 2000
# 2,000 courses take about 100 KB: a larger file is not an import, and is refused before it is
# read whole. Through the API the body cap (API_MAX_BODY_BYTES) comes first.
MAX_BYTES = 512 * 1024


class ImportFileError(ValueError):
    """The file as a whole cannot be read (not CSV/JSON, missing columns, too many rows)."""


@dataclass
class RowInput:
    """One course of the file, as written; ``errors`` are problems of its shape."""

    line: int
    name: str = ""
    semester: str = ""
    type: str = ""
    groups: list[str] = field(default_factory=list)
    discord_guild_id: str = ""
    errors: list[dict[str, str]] = field(default_factory=list)


def import_file_read(stream: IO[bytes]) -> str:
    """The text of an uploaded or opened file (or standard input): UTF-8, with or without a
    byte order mark, reading no more than ``MAX_BYTES`` and one (``ImportFileError`` past it)."""
    data = stream.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportFileError(_too_large())
    try:
        return csv_text(data)
    except CsvFileError as exc:
        raise ImportFileError(str(exc)) from None


def _too_large() -> str:
    return (
        f"The file is larger than {MAX_BYTES // 1024} KiB, more than an import of {MAX_ROWS:,} "
        "courses: check that it is the right file, or split it."
    )


def import_file_parse(*, content: str, format: str) -> list[RowInput]:
    """The rows of ``content`` (``format``: ``csv`` or ``json``), numbered as the file's lines
    (CSV: the header is line 1) or, in JSON, as the list's items from 1."""
    if len(content.encode("utf-8", "replace")) > MAX_BYTES:
        raise ImportFileError(_too_large())
    rows = _parse_json(content) if format == "json" else _parse_csv(content)
    if not rows:
        raise ImportFileError("The file holds no course.")
    if len(rows) > MAX_ROWS:
        raise ImportFileError(f"At most {MAX_ROWS} courses per import; the file has {len(rows)}.")
    return rows


def import_format_guess(*, content: str, filename: str = "") -> str:
    """``json`` for a ``.json`` file or content that starts like JSON, else ``csv``."""
    if filename.lower().endswith(".json") or content.lstrip()[:1] in ("[", "{"):
        return "json"
    return "csv"


def _split_groups(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _parse_csv(content: str) -> list[RowInput]:
    records = csv_records(content.removeprefix("\ufeff"))  # a BOM from spreadsheet exports
    try:
        _, header = next(records, (1, None))
        if header is None:
            raise ImportFileError("The file is empty.")
        names = [column.strip() for column in header]
        by_lower = {column.lower(): column for column in COLUMNS}
        known = [by_lower.get(column.lower()) for column in names]
        unknown = [names[i] for i, column in enumerate(known) if column is None]
        if unknown:
            raise ImportFileError(
                f"Unknown column(s) {', '.join(unknown)}: the columns are {','.join(COLUMNS)}."
            )
        # A column given twice would silently keep its last cell: refused, as for a roster.
        repeated = sorted({column for column in known if column and known.count(column) > 1})
        if repeated:
            raise ImportFileError(f"Column(s) {', '.join(repeated)} appear more than once.")
        missing = [column for column in REQUIRED if column not in known]
        if missing:
            raise ImportFileError(
                f"Missing column(s) {', '.join(missing)}: the header is {','.join(COLUMNS)}."
            )
        rows = []
        for line, cells in records:
            row = RowInput(line=line)
            if len(cells) > len(known):
                row.errors.append(
                    {"field": "row", "reason": f"{len(cells)} cells for {len(known)} columns."}
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
        raise ImportFileError(str(exc)) from None
    return rows


def _parse_json(content: str) -> list[RowInput]:
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):
        raise ImportFileError("Not valid JSON: send a list of courses.") from None
    if isinstance(data, dict) and isinstance(data.get("courses"), list):
        data = data["courses"]
    if not isinstance(data, list):
        raise ImportFileError('Send a JSON list of courses (or {"courses": [...]}).')
    rows = []
    for number, item in enumerate(data[: MAX_ROWS + 1], start=1):
        row = RowInput(line=number)
        if not isinstance(item, dict):
            row.errors.append({"field": "row", "reason": "Each course is a JSON object."})
            rows.append(row)
            continue
        unknown = sorted(set(item) - set(COLUMNS))
        for key in unknown:
            row.errors.append({"field": str(key)[:50], "reason": "Unknown field."})
        values: dict[str, Any] = {}
        for key in COLUMNS:
            value = item.get(key)
            if value is None:
                continue
            if key == "groups" and isinstance(value, list):
                if all(isinstance(group, str) for group in value):
                    values[key] = value
                    continue
            elif isinstance(value, str):
                values[key] = value.strip()
                continue
            expected = "a list of names or Monday;Thursday" if key == "groups" else "a string"
            row.errors.append({"field": key, "reason": f"Give {expected}."})
        _fill(row, values)
        rows.append(row)
    return rows


def _fill(row: RowInput, values: dict[str, Any]) -> None:
    row.name = values.get("name", "")
    row.semester = values.get("semester", "")
    row.type = values.get("type", "").upper()
    groups = values.get("groups", "")
    row.groups = (
        [g.strip() for g in groups if g.strip()]
        if isinstance(groups, list)
        else _split_groups(groups)
    )
    row.discord_guild_id = values.get("discordGuildId", "")
