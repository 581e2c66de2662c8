"""manage.py import_courses FILE [--dry-run] [--all-or-nothing] [--priority P] [--wait] [--json]"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from courses.models import Course
from imports.models import Import

pytestmark = pytest.mark.django_db

CSV = (
    "name,semester,type,groups,discordGuildId\n"
    "Algorithms,2026-fall,lecture,,\n"
    "Networks,2026-fall,laboratory,Monday;Thursday,\n"
)


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_courses", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "semester.csv"
    path.write_text(CSV)
    return path


def test_dry_run_json_prints_the_plan(csv_file, platforms):
    plan = json.loads(run(str(csv_file), "--dry-run", "--json"))
    assert set(plan) == {
        "rows",
        "errors",
        "serversNeeded",
        "serversAvailable",
        "githubWrites",
        "discordCalls",
        "estimatedSeconds",
    }
    assert (plan["serversNeeded"], plan["serversAvailable"]) == (2, 0)
    assert (plan["githubWrites"], plan["discordCalls"]) == (15, 19)
    assert not Course.objects.exists() and platforms.requests() == []


def test_a_file_with_old_mac_line_endings_reads_like_any_other(tmp_path):
    """Excel for Mac's "CSV (Macintosh)" ends lines with a lone CR."""
    path = tmp_path / "semester.csv"
    path.write_bytes(
        b"name,semester,type,groups\rAlgorithms,2026-fall,lecture,\rNetworks,2026-fall,lecture,\r"
    )
    plan = json.loads(run(str(path), "--dry-run", "--json"))
    assert [(row["line"], row["name"]) for row in plan["rows"]] == [
        (2, "Algorithms"),
        (3, "Networks"),
    ]


def test_dry_run_with_bad_rows_lists_them_and_exits_non_zero(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "Bad,2026-autumn,lecture,,\n")
    out = StringIO()
    with pytest.raises(CommandError, match="1 problem"):
        call_command("import_courses", str(path), "--dry-run", stdout=out)
    assert "line 4: semester:" in out.getvalue()


def test_apply_waits_and_reports(csv_file, platforms, django_capture_on_commit_callbacks):
    platforms.add_servers(2)
    with django_capture_on_commit_callbacks(execute=True):
        out = run(str(csv_file), "--priority", "low", "--json")
    result = json.loads(out)
    assert result["counts"]["created"] == 2
    record = Import.objects.get()
    record.refresh_from_db()
    assert record.status == Import.Status.COMPLETED and record.filename == "semester.csv"
    assert set(Course.objects.values_list("priority", flat=True)) == {"low"}


def test_all_or_nothing_refuses_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "Bad,2026-fall,seminar,,\n")
    with pytest.raises(CommandError, match="REJECTED"):
        run(str(path), "--all-or-nothing")
    assert not Course.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent.csv"], "Cannot read"),
        (["FILE", "--priority", "urgent"], "invalid choice"),
    ],
)
def test_bad_arguments_are_usage_errors(csv_file, args, message):
    args = [str(csv_file) if arg == "FILE" else arg for arg in args]
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_file_larger_than_any_import_is_refused_unread(tmp_path):
    path = tmp_path / "semester.csv"
    path.write_text("name,semester,type,groups\n" + "Algorithms,2026-fall,lecture,\n" * 20_000)
    with pytest.raises(CommandError, match="larger than 512 KiB"):
        run(str(path))
    assert not Import.objects.exists()


def test_json_file(tmp_path, platforms):
    path = tmp_path / "semester.json"
    path.write_text(
        json.dumps([{"name": "Algorithms", "semester": "2026-fall", "type": "lecture"}])
    )
    plan = json.loads(run(str(path), "--dry-run", "--json"))
    assert plan["githubWrites"] == 5 and plan["errors"] == []
