"""manage.py roster import|sync|remove|export: thin, clear errors, every bad line printed.

One test runs the real sync against the sandbox (a provisioned laboratory): the roster imported
from a file reaches GitHub, and the link sheet hands out the invites and repositories the sync
and provisioning made.
"""

from __future__ import annotations

import csv
import io
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from courses.models import Course, CourseMember
from provisioning.models import ExternalResource, Operation
from tests.courses import roster_data as data

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("roster", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def course() -> Course:
    # FAILED: an import saves the roster and leaves the sync pending (nothing to wait for here).
    return data.laboratory(status=Course.Status.FAILED)


def test_dry_run_of_the_bad_file_prints_every_bad_line_and_exits_1(course, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(data.bad_csv())
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("roster", "import", str(course.id), str(path), "--dry-run", stdout=out)
    assert caught.value.returncode == 1
    assert "5 problem(s) on 5 line(s)" in str(caught.value)
    printed = [line for line in out.getvalue().splitlines() if line.startswith("line ")]
    assert printed == [
        f"line {error['line']}: {error['field']}: {error['reason']}"
        for error in data.EXPECTED_ERRORS
    ]
    assert not CourseMember.objects.exists()


def test_a_file_larger_than_any_roster_is_refused_unread(course, tmp_path, monkeypatch):
    path = tmp_path / "roster.csv"
    path.write_text(data.HEADER + "\n" + "Ann,ann@example.edu,ann,,1\n" * 20_000)
    with pytest.raises(CommandError, match="larger than 512 KiB"):
        run("import", str(course.id), str(path))
    # Standard input too, read no further than the cap and one byte.
    stdin = io.BytesIO(path.read_bytes())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(stdin))
    with pytest.raises(CommandError, match="larger than 512 KiB"):
        run("import", str(course.id), "-")
    assert stdin.tell() == 512 * 1024 + 1
    assert not course.members.exists()


def test_import_of_the_bad_file_imports_no_one(course, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(data.bad_csv())
    out = StringIO()
    with pytest.raises(CommandError, match="nothing was imported") as caught:
        call_command("roster", "import", str(course.id), str(path), stdout=out)
    assert caught.value.returncode == 1
    assert out.getvalue().count("\nline ") + out.getvalue().startswith("line ") == 5
    assert not CourseMember.objects.exists()


def test_import_saves_the_roster_and_says_why_the_sync_waits(course, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(data.good_csv().encode("utf-8-sig"))
    out, err = run("import", str(course.id), str(path))
    assert "123 added, 0 updated, 0 unchanged" in out
    assert err.startswith("Sync pending: ") and "FAILED" in err
    assert CourseMember.objects.filter(course=course).count() == 123
    dry = json.loads(run("import", str(course.id), str(path), "--dry-run", "--json")[0])
    assert dry["valid"] and dry["counts"]["unchanged"] == 123


def test_export_round_trips_to_a_file(course, tmp_path):
    source = tmp_path / "roster.csv"
    source.write_text(data.good_csv())
    run("import", str(course.id), str(source))
    target = tmp_path / "export.csv"
    run("export", str(course.id), "-o", str(target))
    exported = target.read_bytes().decode()
    assert len(exported.splitlines()) == 124
    dry = json.loads(run("import", str(course.id), str(target), "--dry-run", "--json")[0])
    assert dry["counts"] == {
        "added": 0,
        "updated": 0,
        "unchanged": 123,
        "absent": 0,
        "invalidLines": 0,
    }
    assert run("export", str(course.id))[0] == exported


def test_clear_errors(course, tmp_path):
    with pytest.raises(CommandError, match="No course with id 'nope'"):
        run("sync", "nope")
    with pytest.raises(CommandError, match="No course with id"):
        run("export", "00000000-0000-4000-8000-000000000000")
    with pytest.raises(CommandError, match="Cannot read"):
        run("import", str(course.id), str(tmp_path / "missing.csv"))
    workbook = tmp_path / "roster.xlsx"
    workbook.write_bytes(b"PK\x03\x04rest of a zip")
    with pytest.raises(CommandError, match="Excel or OpenDocument workbook, not a CSV"):
        run("import", str(course.id), str(workbook))
    with pytest.raises(CommandError, match="FAILED: its provisioning must complete first"):
        run("sync", str(course.id))
    Course.objects.filter(id=course.id).update(status=Course.Status.COMPLETED)
    Operation.objects.create(course=course, kind=Operation.Kind.VERIFY)
    with pytest.raises(CommandError, match="busy"):
        run("sync", str(course.id))
    with pytest.raises(CommandError, match=r"No member 'who@example\.edu'"):
        run("remove", str(course.id), "who@example.edu")


# transaction=True: the sync is enqueued on commit, which a test inside a transaction never
# reaches; here it runs inline, in the command, against the sandbox.
@pytest.mark.django_db(transaction=True)
def test_import_runs_the_sync_and_the_link_sheet_hands_out_what_it_made(
    platforms, provision, tmp_path
):
    platforms.add_servers(1)
    lab = provision(name="Networks", type="LABORATORY", groups=("Monday", "Thursday"))
    assert lab.status == Course.Status.COMPLETED
    path = tmp_path / "roster.csv"
    path.write_text(
        f"{data.HEADER}\n"
        "Ada Lovelace,ada@example.edu,ada-l,instructor,\n"
        "Ann,,ann-1,student,1\n"
        "Ben,ben@example.edu,ben-2,student,2\n"
        "Cy,cy@example.edu,,student,2\n"
    )
    out, _ = run("import", str(lab.id), str(path))
    assert "4 added" in out and "SYNC_MEMBERS COMPLETED" in out, out
    states = dict(CourseMember.objects.values_list("name", "github_state"))
    assert states["Ann"] in ("pending", "active") and states["Cy"] in ("pending", "waiting")

    sheet = list(csv.DictReader(io.StringIO(run("export", str(lab.id), "--links")[0])))
    resources = ExternalResource.objects.filter(course=lab, state="confirmed")
    invites = {r.key: r.url for r in resources.filter(kind="invite")}
    repos = {r.lab_group.number: r.url for r in resources.filter(kind="repository")}
    assert set(invites) == {"group-1", "group-2", "staff"} and all(invites.values())
    by_name = {row["name"]: row for row in sheet}
    assert (by_name["Ann"]["invite"], by_name["Ann"]["repository"]) == (
        invites["group-1"],
        repos[1],
    )
    assert (by_name["Cy"]["invite"], by_name["Cy"]["repository"]) == (invites["group-2"], repos[2])
    assert by_name["Ada Lovelace"]["invite"] == invites["staff"]
    assert by_name["Ada Lovelace"]["repository"] == f"{repos[1]} {repos[2]}"
    assert by_name["Ann"]["githubState"] == states["Ann"]

    # Removing someone runs the sync that takes them off GitHub.
    out, _ = run("remove", str(lab.id), "@ben-2")
    assert "Ben was taken off the roster" in out and "SYNC_MEMBERS COMPLETED" in out, out
    assert CourseMember.objects.get(name="Ben").removed_at is not None
    # And a sync of an unchanged roster completes too.
    out, _ = run("sync", str(lab.id), "--json")
    assert json.loads(out)["status"] == "COMPLETED"
