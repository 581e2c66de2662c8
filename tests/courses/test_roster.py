"""The roster's services: the dry run, the all-or-nothing import, removal, export and link sheet.

The courses here are made by factories (no platform): a sync started by an import is an
Operation row left PENDING (the run would start on commit, which a test transaction never
reaches). The sync itself is tested with the people sync (provisioning), and end to end by the
CLI's test.
"""

from __future__ import annotations

import json

import pytest

from courses.models import Course, CourseMember
from courses.roster import (
    RosterInvalidError,
    link_sheet,
    link_sheet_csv,
    member_remove,
    roster_export,
    roster_import,
    roster_plan,
)
from courses.roster_files import RosterFileError, roster_parse
from provisioning.models import ExternalResource, Operation
from tests.courses import roster_data as data
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


def rows(text: str | bytes, format: str = "csv"):
    return roster_parse(content=text, format=format)


def snapshot() -> tuple[int, int, int]:
    """What an import writes: members, operations, steps."""
    return (
        CourseMember.objects.count(),
        Operation.objects.count(),
        Operation.objects.filter(kind="SYNC_MEMBERS").count(),
    )


@pytest.fixture
def course() -> Course:
    return data.laboratory()


# --- the must-show: 120 students and 3 staff, 5 bad lines ------------------------------------


def test_dry_run_reports_exactly_the_five_planted_lines_and_writes_nothing(course):
    before = snapshot()
    plan = roster_plan(course=course, rows=rows(data.bad_csv()))
    assert plan.errors == data.EXPECTED_ERRORS
    assert plan.counts() == {
        "added": 118,
        "updated": 0,
        "unchanged": 0,
        "absent": 0,
        "invalidLines": 5,
    }
    assert snapshot() == before == (0, 0, 0)


def test_the_bad_file_imports_no_one(course):
    with pytest.raises(RosterInvalidError) as caught:
        roster_import(course=course, rows=rows(data.bad_csv()))
    assert caught.value.plan.errors == data.EXPECTED_ERRORS
    assert "5 bad line(s)" in str(caught.value)
    assert snapshot() == (0, 0, 0)


def test_the_fixed_file_imports_123_members_and_starts_their_sync(course):
    result = roster_import(course=course, rows=rows(data.good_csv()))
    assert result.counts == {"added": 123, "updated": 0, "unchanged": 0, "absent": 0}
    members = CourseMember.objects.filter(course=course)
    assert members.count() == 123
    assert set(members.values_list("role", flat=True)) == {"instructor", "ta", "student"}
    assert members.filter(role="ta").count() == 2
    by_group = {number: members.filter(lab_group__number=number).count() for number in range(1, 5)}
    assert by_group == {1: 30, 2: 30, 3: 30, 4: 30}
    assert not members.filter(role__in=CourseMember.STAFF, lab_group__isnull=False).exists()
    hopper = members.get(github_username="ghopper")
    assert (hopper.role, hopper.email, hopper.github_state) == ("ta", "", "not_synced")
    # The sync: one SYNC_MEMBERS operation, pending until the transaction commits.
    operation = Operation.objects.get(course=course)
    assert operation.kind == "SYNC_MEMBERS" and operation.status == "PENDING"
    assert result.sync.operation == operation and not result.sync.pending
    course.refresh_from_db()
    assert course.status == Course.Status.PENDING  # the course runs its sync


def test_export_round_trips(course):
    roster_import(course=course, rows=rows(data.good_csv()))
    exported = roster_export(course=course)
    assert exported.splitlines()[0] == data.HEADER
    assert len(exported.splitlines()) == 124
    # The same course: every line names its member, and nothing changes.
    plan = roster_plan(course=course, rows=rows(exported))
    assert plan.errors == [] and plan.counts()["unchanged"] == 123
    # Another laboratory with the same groups gets the same roster.
    other = data.laboratory(name="Operating Systems II")
    roster_import(course=other, rows=rows(exported))

    def people(of: Course) -> set[tuple]:
        return set(
            CourseMember.objects.filter(course=of).values_list(
                "name", "email", "github_username", "role", "lab_group__number"
            )
        )

    assert people(other) == people(course) and len(people(other)) == 123
    assert roster_export(course=other) == exported


def test_link_sheet_gives_each_member_their_invite_and_repository(course):
    roster_import(course=course, rows=rows(data.good_csv()))
    made = data.links_made(course)
    sheet = link_sheet(course=course)
    assert len(sheet) == 123
    every_repo = " ".join(made[f"repo:{n}"] for n in range(1, 5))
    for row in sheet:
        member = row.member
        if member.role in CourseMember.STAFF:
            assert (row.invite, row.repository) == (made["invite:staff"], every_repo)
        else:
            number = member.lab_group.number
            assert row.invite == made[f"invite:group-{number}"]
            assert row.repository == made[f"repo:{number}"]
    # Staff first (instructor, TAs), then students by group.
    assert [row.member.role for row in sheet[:4]] == ["instructor", "ta", "ta", "student"]
    csv_lines = link_sheet_csv(course=course).splitlines()
    assert csv_lines[0] == (
        "name,email,github,role,group,invite,repository,githubState,githubDetail,waitingUntil"
    )
    assert len(csv_lines) == 124
    assert (
        f"Student 000,student0@example.edu,student-0,student,1,"
        f"{made['invite:group-1']},{made['repo:1']},not_synced,," in csv_lines
    )


def test_link_sheet_of_a_lecture_and_before_anything_was_made():
    lecture = CourseFactory.create(status=Course.Status.COMPLETED)
    roster_import(
        course=lecture,
        rows=rows(f"{data.HEADER}\nAda,ada@example.edu,,instructor,\nBob,bob@example.edu,,,\n"),
    )
    assert [(r.invite, r.repository) for r in link_sheet(course=lecture)] == [("", ""), ("", "")]
    for key in ("members", "staff"):
        ExternalResource.objects.create(
            course=lecture,
            provider="discord",
            kind="invite",
            key=key,
            url=f"https://discord.gg/{key}",
            state="confirmed",
        )
    ExternalResource.objects.create(
        course=lecture,
        provider="github",
        kind="repository",
        key="repository",
        url="https://github.example/org/algorithms",
        state="confirmed",
    )
    # An intended invite (its creation unconfirmed) is no link to hand out.
    ExternalResource.objects.filter(key="staff").update(state="intended")
    assert [(r.member.name, r.invite, r.repository) for r in link_sheet(course=lecture)] == [
        ("Ada", "", "https://github.example/org/algorithms"),
        ("Bob", "https://discord.gg/members", "https://github.example/org/algorithms"),
    ]


# --- updates, identity, removal --------------------------------------------------------------


def test_a_second_file_updates_by_email_or_username_and_keeps_empty_cells(course):
    roster_import(course=course, rows=rows(data.good_csv()))
    Operation.objects.all().delete()
    Course.objects.filter(id=course.id).update(status=Course.Status.COMPLETED)
    change = (
        f"{data.HEADER}\n"
        "Student 001,STUDENT1@example.edu,new-login,,3\n"  # email any case; adds a username
        "Grace M. Hopper,,ghopper,instructor,\n"  # by username; empty email kept (none)
        "Student 004,,student-4,student,1\n"  # unchanged: the empty email keeps theirs
        "Newcomer,new@example.edu,,student,4\n"
    )
    plan = roster_plan(course=course, rows=rows(change))
    assert plan.errors == []
    assert [(c.line, c.action, c.fields) for c in plan.changes] == [
        (2, "update", ["github", "group"]),
        (3, "update", ["name", "role"]),
        (4, "unchanged", []),
        (5, "add", []),
    ]
    result = roster_import(course=course, rows=rows(change))
    assert result.counts == {"added": 1, "updated": 2, "unchanged": 1, "absent": 120}
    one = CourseMember.objects.get(course=course, email="student1@example.edu")
    assert (one.github_username, one.lab_group.number) == ("new-login", 3)
    assert CourseMember.objects.get(github_username="student-4").email == "student4@example.edu"
    assert CourseMember.objects.filter(course=course).count() == 124
    assert result.sync.operation is not None


def test_a_line_naming_two_members_or_one_twice_is_refused(course):
    roster_import(
        course=course,
        rows=rows(
            f"{data.HEADER}\nAnn,ann@example.edu,ann,student,1\nBen,ben@example.edu,ben,student,2\n"
        ),
    )
    plan = roster_plan(
        course=course, rows=rows(f"{data.HEADER}\nAnn,ann@example.edu,ben,student,1\n")
    )
    assert [(e["line"], e["field"]) for e in plan.errors] == [(2, "github")]
    assert plan.errors[0]["reason"] == (
        "ben is the GitHub username of another member (Ben), while ann@example.edu is Ann's email."
    )
    plan = roster_plan(
        course=course,
        rows=rows(
            f"{data.HEADER}\n"
            "Ann B.,,ann,student,1\n"  # Ann by username...
            "Ann C.,ann@example.edu,,student,1\n"  # ...and by email
        ),
    )
    assert plan.errors == [{"line": 3, "field": "email", "reason": "Same member as line 2."}]


def test_nothing_changed_starts_no_sync(course):
    text = f"{data.HEADER}\nAnn,ann@example.edu,,student,1\n"
    roster_import(course=course, rows=rows(text))
    Operation.objects.all().delete()
    Course.objects.filter(id=course.id).update(status=Course.Status.COMPLETED)
    result = roster_import(course=course, rows=rows(text))
    assert result.counts["unchanged"] == 1
    assert result.sync.operation is None and not result.sync.pending
    assert not Operation.objects.exists()


@pytest.mark.parametrize("busy", ["provisioning", "operation", "failed"])
def test_a_busy_or_failed_course_saves_the_roster_and_says_the_sync_is_pending(busy):
    course = data.laboratory(
        status=Course.Status.IN_PROGRESS if busy == "provisioning" else Course.Status.COMPLETED
    )
    if busy == "operation":
        Operation.objects.create(course=course, kind=Operation.Kind.VERIFY)
    if busy == "failed":
        Course.objects.filter(id=course.id).update(status=Course.Status.FAILED)
    result = roster_import(course=course, rows=rows(data.good_csv()))
    assert CourseMember.objects.filter(course=course).count() == 123
    assert result.sync.operation is None and result.sync.pending
    assert "next sync" in result.sync.reason
    assert not Operation.objects.filter(kind="SYNC_MEMBERS").exists()


def test_member_remove_keeps_the_row_and_starts_the_sync_once(course):
    roster_import(course=course, rows=rows(f"{data.HEADER}\nAnn,ann@example.edu,ann,student,1\n"))
    Operation.objects.all().delete()
    Course.objects.filter(id=course.id).update(status=Course.Status.COMPLETED)
    ann = CourseMember.objects.get()
    sync = member_remove(member=ann)
    ann.refresh_from_db()
    assert ann.removed_at is not None and sync.operation is not None
    assert roster_export(course=course).splitlines() == [data.HEADER]
    again = member_remove(member=ann)
    assert again.operation is None and again.reason == "Already removed."
    assert Operation.objects.count() == 1
    # Removed people may come back: a new row, the old one stays as the record.
    Operation.objects.all().delete()
    Course.objects.filter(id=course.id).update(status=Course.Status.COMPLETED)
    roster_import(course=course, rows=rows(f"{data.HEADER}\nAnn,ann@example.edu,ann,student,1\n"))
    assert CourseMember.objects.filter(email="ann@example.edu").count() == 2


# --- the rules of a line ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "ok"),
    [
        ("a", True),
        ("A-b-C-9", True),
        ("x" * 39, True),
        ("x" * 40, False),
        ("-lead", False),
        ("trail-", False),
        ("dou--ble", False),
        ("under_score", False),
        ("dot.ted", False),
        ("@at-sign-ok", True),  # a leading @ is dropped
    ],
)
def test_github_usernames_follow_githubs_rules(course, login, ok):
    plan = roster_plan(course=course, rows=rows(f"{data.HEADER}\nAnn,,{login},student,1\n"))
    assert (plan.errors == []) is ok, plan.errors
    if not ok:
        assert plan.errors[0]["field"] == "github"


def test_group_rules_for_staff_lectures_and_students(course):
    plan = roster_plan(
        course=course,
        rows=rows(
            f"{data.HEADER}\n"
            "Ann,ann@example.edu,,ta,2\n"
            "Ben,ben@example.edu,,student,\n"
            "Cy,cy@example.edu,,student,two\n"
            "=cmd,dee@example.edu,,student,1\n"
            "Eve,+eve@example.edu,,student,1\n"
        ),
    )
    assert [(e["line"], e["field"], e["reason"][:30]) for e in plan.errors] == [
        (2, "group", "Staff belong to no lab group ("),
        (3, "group", "A student of a laboratory need"),
        (4, "group", "No lab group two in this cours"),
        (5, "name", "Must not start with = + - or @"),
        (6, "email", "Must not start with = + - or @"),
    ]
    lecture = CourseFactory.create()
    plan = roster_plan(course=lecture, rows=rows(f"{data.HEADER}\nAnn,ann@example.edu,,,1\n"))
    assert plan.errors == [
        {"line": 2, "field": "group", "reason": "A lecture has no lab groups: leave it empty."}
    ]


# --- the file --------------------------------------------------------------------------------


def test_utf8_with_a_bom_semicolons_and_any_header_order_are_read(course):
    text = "\ufeffGroup;Name;GitHub\n1;Zoë Ünal;zoe\n"
    [row] = rows(text.encode("utf-8"))
    assert (row.name, row.github, row.group, row.line) == ("Zoë Ünal", "zoe", "1", 2)
    assert rows(text.encode("utf-8-sig").removeprefix(b"\xef\xbb\xbf"))[0].name == "Zoë Ünal"


def test_json_list_same_fields_numbers_allowed_for_group(course):
    items = [
        {"name": "Ann", "email": "ann@example.edu", "group": 1},
        {"name": "Ben", "github": "ben", "role": "ta", "group": None, "extra": 1},
    ]
    parsed = rows(json.dumps({"members": items}), "json")
    assert [(r.line, r.group, r.errors) for r in parsed] == [
        (1, "1", []),
        (2, "", [("extra", "Unknown field.")]),
    ]
    plan = roster_plan(course=course, rows=parsed)
    assert plan.errors == [{"line": 2, "field": "extra", "reason": "Unknown field."}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00", "Excel or OpenDocument workbook, not a CSV file"),
        (b"%PDF-1.7\n", "This is a PDF"),
        ("name,email\nZoë,z@example.edu\n".encode("latin-1"), "not UTF-8 text"),
        (b"name,email\x00,github\n", "NUL bytes"),
        (b"", "The file is empty"),
        (b"student id,full name\n1,Ann\n", "The first line must be the header"),
        (b"name,email,phone\nAnn,a@example.edu,1\n", "Unknown column(s) phone"),
        (b"name,role,group\nAnn,student,1\n", "needs name, and email or github"),
        (b"name,email\n", "holds no member"),
        (b'name,email\n"Ann,a@example.edu\n', "Not a readable CSV file"),
    ],
)
def test_files_that_are_not_rosters_are_clear_errors(content, message):
    with pytest.raises(RosterFileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        rows(content)


def test_json_that_is_not_a_list_is_a_clear_error():
    for content in ("{", '{"name": "Ann"}', "42"):
        with pytest.raises(RosterFileError, match="JSON"):
            rows(content, "json")


def test_carriage_return_line_ends_of_older_spreadsheets_are_read_with_their_line_numbers():
    """Excel for Mac's "CSV (Macintosh)" ends lines with a lone carriage return."""
    parsed = rows(b"name;email;group\rAnn;ann@example.edu;1\r\rBen, Jr;ben@example.edu;2\r")
    assert [(r.line, r.name, r.email, r.group) for r in parsed] == [
        (2, "Ann", "ann@example.edu", "1"),
        (4, "Ben, Jr", "ben@example.edu", "2"),
    ]


def test_link_sheet_hands_out_no_invite_past_its_expiry(course):
    """With DISCORD_INVITE_MAX_AGE set, a recorded link expires: the sheet leaves its cell empty
    (the next sync makes a new one) instead of handing out a dead link."""
    roster_import(
        course=course,
        rows=rows(f"{data.HEADER}\nAnn,ann@example.edu,,student,1\nBen,ben@example.edu,,,2\n"),
    )
    made = data.links_made(course)
    ExternalResource.objects.filter(course=course, key="group-1").update(
        data={"expires_at": "2020-01-01T00:00:00+00:00"}
    )
    ExternalResource.objects.filter(course=course, key="group-2").update(
        data={"expires_at": "2999-01-01T00:00:00+00:00"}
    )
    assert [(r.member.name, r.invite) for r in link_sheet(course=course)] == [
        ("Ann", ""),
        ("Ben", made["invite:group-2"]),
    ]


def test_blank_columns_a_spreadsheet_adds_after_the_header_are_ignored_unless_filled():
    """A sheet whose used range is wider than its data saves ``name,email,group,,``: the blank
    columns are no unknown columns; a value under one is its line's error."""
    parsed = rows(b"name,email,group,,\r\nAnn,ann@example.edu,1,,\r\nBen,ben@example.edu,2,,x\r\n")
    assert [(r.line, r.name, r.group, r.errors) for r in parsed] == [
        (2, "Ann", "1", []),
        (3, "Ben", "2", [("row", "A value in column 5, which has no header.")]),
    ]
