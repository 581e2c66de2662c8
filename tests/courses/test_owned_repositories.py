"""The repository names a live course owns are rows unique per organization (OwnedRepository):
two courses that passed the clash check at the same moment cannot both be made with one name.

The clash check reads before the create writes: a lecture "Grp2 Group 1" and a laboratory "Grp2"
with group 1, created at once, both passed it, and the second failed later on GitHub on the
first's repository. The tests let the competitor in between the check and the write.
"""

from __future__ import annotations

import threading

import pytest
from django.core.cache import cache
from django.db import connection, connections
from rest_framework.test import APIClient

from api.services import api_key_create
from courses import changes, services
from courses.changes import course_add_groups, course_rename
from courses.models import Course, LabGroup, OwnedRepository
from courses.services import CourseAlreadyExistsError, LabGroupInput, course_create
from provisioning.models import Operation
from provisioning.teardown import course_teardown

pytestmark = pytest.mark.django_db


def lecture(name: str, **kwargs) -> Course:
    return course_create(name=name, semester="2026-fall", type="LECTURE", **kwargs)


def laboratory(name: str, *numbers: int) -> Course:
    groups = [LabGroupInput(name=f"Group {n}", number=n) for n in numbers]
    return course_create(name=name, semester="2026-fall", type="LABORATORY", lab_groups=groups)


def owned(course: Course) -> list[str]:
    return sorted(OwnedRepository.objects.filter(course=course).values_list("name", flat=True))


@pytest.fixture
def no_tasks(monkeypatch):
    monkeypatch.setattr(services, "provisioning_enqueue", lambda **kwargs: None)


@pytest.fixture
def check_passes(monkeypatch):
    """The create passed its clash check before the competitor was written: skip the check."""
    monkeypatch.setattr(
        services, "course_check", lambda **kwargs: services.CourseCheck(semester="2026-fall")
    )


def test_a_course_owns_its_repository_names_in_its_organization(no_tasks):
    lab = laboratory("Grp2", 1, 3)
    other_org = course_create(
        name="Grp2 Group 1", semester="2026-fall", type="LECTURE", github_org="Other-Org"
    )

    assert owned(lab) == ["2026-fall-grp2-group-1", "2026-fall-grp2-group-3"]
    assert list(OwnedRepository.objects.filter(course=other_org).values_list("github_org", "name"))
    assert OwnedRepository.objects.get(course=other_org).github_org == "other-org"


@pytest.mark.parametrize("lecture_first", [True, False])
def test_the_second_of_two_racing_creates_is_refused_naming_the_first(
    no_tasks, check_passes, lecture_first
):
    first = lecture("Grp2 Group 1") if lecture_first else laboratory("Grp2", 1, 2)

    with pytest.raises(CourseAlreadyExistsError) as error:
        laboratory("Grp2", 1, 2) if lecture_first else lecture("Grp2 Group 1")

    assert error.value.existing_id == first.id
    assert "already owns the GitHub repository 2026-fall-grp2-group-1" in str(error.value)
    assert list(Course.objects.values_list("id", flat=True)) == [first.id]
    assert not LabGroup.objects.exclude(course=first).exists()
    assert not Operation.objects.exclude(course=first).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two connections writing at once: SQLite serializes them; CI runs this on PostgreSQL",
)
def test_two_creates_racing_through_the_api_make_one_course_and_a_409(monkeypatch, no_tasks):
    cache.clear()
    # Two callers: one key's creates queue on its cap's lock (courses.api.caps).
    raws = [api_key_create(name=f"LMS {index}", is_admin=True)[1] for index in range(2)]
    checked = services.course_check
    both_checked = threading.Barrier(2)

    def check_then_wait(**kwargs):
        # Both requests pass the real clash check before either writes.
        found = checked(**kwargs)
        both_checked.wait(timeout=10)
        return found

    monkeypatch.setattr(services, "course_check", check_then_wait)
    bodies = [
        {"name": "Grp2 Group 1", "semester": "2026-fall", "type": "LECTURE"},
        {
            "name": "Grp2",
            "semester": "2026-fall",
            "type": "LABORATORY",
            "labGroups": [{"name": "Group 1", "number": 1}],
        },
    ]
    results: list = [None, None]

    def create(index: int) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_X_API_KEY=raws[index])
            response = client.post("/courses", bodies[index], format="json")
            results[index] = (response.status_code, response.json())
        finally:
            connections.close_all()  # each thread has its own connection

    threads = [threading.Thread(target=create, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    statuses = sorted(status for status, _ in results)
    assert statuses == [202, 409], results
    [course] = Course.objects.all()
    [(_, refused)] = [result for result in results if result[0] == 409]
    assert refused["details"] == {"existingId": str(course.id)}
    assert "2026-fall-grp2-group-1" in refused["message"]
    assert owned(course) == ["2026-fall-grp2-group-1"]


# --- after the create: added groups, rename, tear down ------------------------------------------


@pytest.fixture
def grp2(platforms, provision) -> Course:
    platforms.add_servers(2)
    course = provision(name="Grp2", type="LABORATORY", groups=("Alpha",))
    assert course.status == Course.Status.COMPLETED
    return course


def test_added_groups_own_their_repositories_and_a_rename_keeps_them(grp2, on_commit):
    with on_commit():
        course_add_groups(course=grp2, groups=[LabGroupInput(name="Beta", number=2)])
    assert owned(grp2) == ["2026-fall-grp2-group-1", "2026-fall-grp2-group-2"]

    with on_commit():
        course_rename(course=grp2, name="Group Two")

    assert owned(grp2) == ["2026-fall-grp2-group-1", "2026-fall-grp2-group-2"]


def test_a_group_whose_repository_a_course_created_meanwhile_owns_is_refused(
    grp2, monkeypatch, no_tasks
):
    competitor: list[Course] = []

    def created_after_the_check(**kwargs) -> None:
        competitor.append(lecture("Grp2 Group 2"))  # it passed its own check: no group 2 yet

    monkeypatch.setattr(changes, "_repository_clash", created_after_the_check)

    with pytest.raises(CourseAlreadyExistsError) as error:
        course_add_groups(course=grp2, groups=[LabGroupInput(name="Beta", number=2)])

    assert error.value.existing_id == competitor[0].id
    assert "2026-fall-grp2-group-2 a new group would get" in str(error.value)
    assert list(grp2.lab_groups.values_list("number", flat=True)) == [1]
    assert not grp2.operations.filter(kind=Operation.Kind.ADD_GROUPS).exists()
    assert owned(grp2) == ["2026-fall-grp2-group-1"]


def test_a_course_of_another_organization_does_not_hold_back_a_new_group(grp2, no_tasks):
    lecture("Grp2 Group 2", github_org="other-org")  # other-org/2026-fall-grp2-group-2

    course_add_groups(course=grp2, groups=[LabGroupInput(name="Beta", number=2)])

    assert owned(grp2) == ["2026-fall-grp2-group-1", "2026-fall-grp2-group-2"]


def test_a_torn_down_course_owns_nothing_and_its_names_can_be_taken(grp2, on_commit, provision):
    with on_commit():
        course_teardown(course=grp2)
    grp2.refresh_from_db()
    assert grp2.deleted_at is not None
    assert owned(grp2) == []

    lecture_ = provision(name="Grp2 Group 1")

    assert owned(lecture_) == ["2026-fall-grp2-group-1"]
