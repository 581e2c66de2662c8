"""The roster of a 4-group laboratory: 3 staff and 120 students, and the same file with five bad
lines planted (shared by the roster's service, API, admin and CLI tests)."""

from __future__ import annotations

from courses.models import Course
from provisioning.models import ExternalResource
from tests.factories import CourseFactory, LabGroupFactory

HEADER = "name,email,github,role,group"
GROUPS = 4
STUDENTS = 120
STAFF = [
    "Ada Lovelace,ada@example.edu,ada-l,instructor,",
    "Alan Turing,alan@example.edu,,ta,",
    "Grace Hopper,,ghopper,TA,",
]


def student_line(n: int) -> str:
    """Student ``n`` (0-119): an email, a username for every other one, groups in turn."""
    github = f"student-{n}" if n % 2 == 0 else ""
    role = "student" if n % 3 else ""  # empty means student
    return f"Student {n:03d},student{n}@example.edu,{github},{role},{n % GROUPS + 1}"


def good_lines() -> list[str]:
    return [HEADER, *STAFF, *(student_line(n) for n in range(STUDENTS))]


# Where each bad line goes (the file's line numbers: the header is line 1, staff 2-4, student n
# on line n + 5), and what the plan must say about it.
BAD_EMAIL_LINE = 10  # student 5
UNKNOWN_GROUP_LINE = 31  # student 26
BAD_ROLE_LINE = 52  # student 47
NO_CONTACT_LINE = 77  # student 72
DUPLICATE_LINE = 118  # student 113, with student 2's email (line 7)
PLANTED = {
    BAD_EMAIL_LINE: "Student 005,student5@@example.edu,,student,2",
    UNKNOWN_GROUP_LINE: "Student 026,student26@example.edu,student-26,student,9",
    BAD_ROLE_LINE: "Student 047,student47@example.edu,,professor,4",
    NO_CONTACT_LINE: "Student 072,,,student,1",
    DUPLICATE_LINE: "Student 113,student2@example.edu,,student,2",
}
EXPECTED_ERRORS = [
    {
        "line": BAD_EMAIL_LINE,
        "field": "email",
        "reason": "Not a valid email address: student5@@example.edu.",
    },
    {
        "line": UNKNOWN_GROUP_LINE,
        "field": "group",
        "reason": "No lab group 9 in this course: one of 1, 2, 3, 4.",
    },
    {
        "line": BAD_ROLE_LINE,
        "field": "role",
        "reason": "Choose one of instructor, ta, student (empty: student).",
    },
    {
        "line": NO_CONTACT_LINE,
        "field": "email",
        "reason": "Give an email or a GitHub username (or both).",
    },
    {"line": DUPLICATE_LINE, "field": "email", "reason": "Same email as line 7."},
]


def good_csv() -> str:
    return "\n".join(good_lines()) + "\n"


def bad_csv() -> str:
    lines = good_lines()
    for line, text in PLANTED.items():
        lines[line - 1] = text
    return "\n".join(lines) + "\n"


def laboratory(status: str = Course.Status.COMPLETED, **kwargs: object) -> Course:
    """A laboratory with groups 1-4 (made by factories: no platform involved)."""
    course = CourseFactory.create(
        name=kwargs.pop("name", "Operating Systems"),
        type=Course.Type.LABORATORY,
        status=status,
        **kwargs,
    )
    for number in range(1, GROUPS + 1):
        LabGroupFactory.create(course=course, number=number)
    return course


def links_made(course: Course) -> dict[str, str]:
    """The invite and repository rows the sync and provisioning would have made, confirmed:
    ``{key: url}`` of what was created."""
    made = {}
    for group in course.lab_groups.all():
        key = f"group-{group.number}"
        made[f"invite:{key}"] = f"https://discord.gg/code{group.number}"
        made[f"repo:{group.number}"] = f"https://github.example/org/os-group-{group.number}"
        ExternalResource.objects.create(
            course=course,
            lab_group=group,
            provider="discord",
            kind="invite",
            key=key,
            external_id=f"code{group.number}",
            url=made[f"invite:{key}"],
            state="confirmed",
        )
        ExternalResource.objects.create(
            course=course,
            lab_group=group,
            provider="github",
            kind="repository",
            key=f"group-{group.number}",
            external_id=str(100 + group.number),
            url=made[f"repo:{group.number}"],
            state="confirmed",
        )
    made["invite:staff"] = "https://discord.gg/staffcode"
    ExternalResource.objects.create(
        course=course,
        provider="discord",
        kind="invite",
        key="staff",
        external_id="staffcode",
        url=made["invite:staff"],
        state="confirmed",
    )
    return made
