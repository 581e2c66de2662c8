"""A course whose repositories another course owns is refused before anything is made.

Repository names come from ``provisioning.naming``, the same function the GitHub handlers use;
the names compared are the slugs, whatever the case and punctuation of the course names.
"""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from api.services import api_key_create
from courses import services
from courses.models import Course
from courses.services import CourseAlreadyExistsError, LabGroupInput, course_create
from provisioning.models import DiscordServer, ProvisioningStep
from provisioning.naming import course_slug, repository_names
from provisioning.services import provisioning_enqueue
from tests.conftest import ORG
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_tasks(monkeypatch):
    """Creating is the point here, not provisioning."""
    monkeypatch.setattr(services, "provisioning_enqueue", lambda **kwargs: None)


@pytest.fixture
def api() -> APIClient:
    cache.clear()  # the throttle's counts
    # An admin key: it may be told which existing course a clash is with (a plain key only of
    # its own courses: tests/api/test_ownership.py).
    _key, raw = api_key_create(name="LMS", is_admin=True)
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def lecture(name: str, **kwargs) -> Course:
    return course_create(name=name, semester="2026-fall", type="LECTURE", **kwargs)


def laboratory(name: str, *numbers: int) -> Course:
    groups = [LabGroupInput(name=f"Group {n}", number=n) for n in numbers]
    return course_create(name=name, semester="2026-fall", type="LABORATORY", lab_groups=groups)


def assert_nothing_made(before: int) -> None:
    assert Course.objects.count() == before


def test_case_and_punctuation_do_not_make_another_repository():
    existing = lecture("Algorithms")

    with pytest.raises(CourseAlreadyExistsError) as error:
        lecture("ALGORITHMS!")

    assert error.value.existing_id == existing.id
    assert "2026-fall-algorithms" in str(error.value)
    assert_nothing_made(1)


@pytest.mark.parametrize("lecture_first", [True, False])
def test_a_lecture_named_like_a_lab_groups_repository_clashes(lecture_first):
    first = lecture("Grp2 Group 1") if lecture_first else laboratory("Grp2", 1, 2)

    with pytest.raises(CourseAlreadyExistsError) as error:
        laboratory("Grp2", 1, 2) if lecture_first else lecture("Grp2 Group 1")

    assert error.value.existing_id == first.id
    assert "2026-fall-grp2-group-1" in str(error.value)


@pytest.mark.parametrize("kind", ["lecture", "laboratory"])
def test_names_cut_to_githubs_100_characters_clash_on_what_they_are_cut_to(kind):
    # The slugs differ only past what GitHub keeps, so the repositories would be the same: the
    # narrow look-up by slug (courses.services._clash_candidates) must find them by their
    # start.
    make = (lambda name: lecture(name)) if kind == "lecture" else (lambda n: laboratory(n, 1))
    first = make("x" * 98 + "ab")

    with pytest.raises(CourseAlreadyExistsError) as error:
        make("x" * 98 + "ac")

    assert error.value.existing_id == first.id
    make("x" * 80 + "other")  # a different start is not a clash


def test_a_lab_without_the_clashing_group_is_accepted():
    lecture("Grp2 Group 1")

    laboratory("Grp2", 2, 3)


def test_other_semesters_are_other_repositories():
    lecture("Algorithms")

    course = course_create(name="Algorithms", semester="2027-spring", type="LECTURE")

    assert course.slug == "2027-spring-algorithms"


def test_rows_made_without_the_service_are_compared_by_the_names_they_had():
    existing = CourseFactory(name="Compilers", semester="2026-fall")  # no slug stored

    with pytest.raises(CourseAlreadyExistsError) as error:
        lecture("compilers.")
    assert error.value.existing_id == existing.id


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("!!!", "at least one letter or digit"),
        ("--- ---", "at least one letter or digit"),
        ("Fall 2026", "not only a semester"),
        ("2026-fall", "not only a semester"),
    ],
)
def test_unusable_names_are_refused_on_the_name(name, words):
    with pytest.raises(ValidationError) as error:
        lecture(name)

    assert words in error.value.message_dict["name"][0]
    assert_nothing_made(0)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("编程导论", "2026-fall-bian-cheng-dao-lun"),
        ("البرمجة المتقدمة", "2026-fall-lbrmjh-lmtqdmh"),
        ("Algorithms البرمجة", "2026-fall-algorithms-lbrmjh"),  # the Arabic word is kept
        ("Программирование", "2026-fall-programmirovanie"),
    ],
)
def test_names_without_latin_letters_get_a_readable_slug(name, slug):
    assert lecture(name).slug == slug


def test_two_names_in_one_script_get_two_slugs_never_the_bare_semester():
    first, second = lecture("编程导论"), lecture("数据结构")

    assert first.slug != second.slug
    assert "2026-fall" not in (first.slug, second.slug)


def test_a_name_that_transliterates_to_nothing_falls_back_on_the_short_id():
    course_id = uuid.UUID("12345678-0000-0000-0000-000000000000")

    assert course_slug(name="?!", semester="2026-fall", course_id=course_id) == (
        "2026-fall-course-12345678"
    )


def test_repository_names_are_cut_as_github_requires():
    slug = "2026-fall-" + "x" * 120

    [lecture_repo] = repository_names(slug=slug, type="LECTURE")
    [group_repo] = repository_names(slug=slug, type="LABORATORY", group_numbers=[7])

    assert len(lecture_repo) == len(group_repo) == 100
    assert group_repo.endswith("-group-7")


def test_a_concurrent_create_of_the_same_slug_is_a_conflict(monkeypatch):
    existing = lecture("Algorithms")
    # The second create passed its checks before the first committed: skip them.
    monkeypatch.setattr(
        services, "course_check", lambda **kwargs: services.CourseCheck(semester="2026-fall")
    )

    with pytest.raises(CourseAlreadyExistsError) as error:
        lecture("algorithms?")

    assert error.value.existing_id == existing.id
    assert_nothing_made(1)


# --- through the API, against the sandbox: refused means nothing claimed, nothing sent ----------


def test_api_clash_is_409_with_the_existing_id_and_nothing_made(api, platforms):
    [guild] = platforms.add_servers(1)
    existing = CourseFactory(name="Algorithms", semester="2026-fall")
    sent = len(platforms.requests())

    response = api.post(
        "/courses",
        {"name": "algorithms!", "semester": "Fall 2026", "type": "LECTURE"},
        format="json",
    )

    assert response.status_code == 409, response.json()
    assert response.json()["details"] == {"existingId": str(existing.id)}
    assert Course.objects.count() == 1
    assert not ProvisioningStep.objects.exists()
    assert DiscordServer.objects.get(guild_id=guild).course is None
    assert len(platforms.requests()) == sent


def test_api_unusable_name_is_400_on_the_name_and_nothing_made(api, platforms):
    [guild] = platforms.add_servers(1)
    sent = len(platforms.requests())

    response = api.post(
        "/courses", {"name": "2026 Fall", "semester": "2026-fall", "type": "LECTURE"}, format="json"
    )

    assert response.status_code == 400
    assert set(response.json()["details"]) == {"name"}
    assert not Course.objects.exists()
    assert DiscordServer.objects.get(guild_id=guild).course is None
    assert len(platforms.requests()) == sent


def test_the_handler_creates_the_repository_the_check_compared(platforms, provision, monkeypatch):
    monkeypatch.setattr(services, "provisioning_enqueue", provisioning_enqueue)  # run it, here
    platforms.add_servers(1)

    course = provision(name="编程导论")

    assert course.status == "COMPLETED", list(course.steps.values_list("last_error", flat=True))
    assert f"{ORG}/2026-fall-bian-cheng-dao-lun" in platforms.state()["github"]["repos"]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="a PostgreSQL query plan; CI runs this on PostgreSQL",
)
def test_the_clash_check_reads_only_the_few_rows_it_may_clash_with():
    """Every create runs it: reading every live course of the semester (what the planner did when
    one OR arm had no index) costs more with each course created at semester start."""
    Course.objects.bulk_create(
        Course(name=f"Other {n}", semester="2026-fall", slug=f"2026-fall-other-{n}", type="LECTURE")
        for n in range(400)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE courses_course")
    with CaptureQueriesContext(connection) as queries:
        services.course_check(
            name="Networks",
            semester="2026-fall",
            type="LABORATORY",
            lab_groups=[LabGroupInput(name="Monday", number=1)],
        )
    (clash_query,) = [q["sql"] for q in queries.captured_queries if "courses_course" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # as on a big table
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + clash_query)
        ((plan,),) = cursor.fetchone()

    def rows_read(node: dict) -> int:
        own = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
        return own + sum(rows_read(child) for child in node.get("Plans", []))

    assert rows_read(plan["Plan"]) == 0, plan


def test_a_cut_name_is_looked_up_by_its_start_as_written_not_as_a_pattern():
    # LIKE reads "_" as any one character: unescaped, the look-up for a name cut to GitHub's 100
    # characters would also read the courses differing there (all to find no clash).
    lecture("x" * 40 + "aqb" + "x" * 57)
    name = "x" * 40 + "a_b" + "x" * 57
    assert (
        "a_b"
        in repository_names(
            slug=course_slug(name=name, semester="2026-fall", course_id=uuid.uuid4()),
            type="LECTURE",
        )[0][:100]
    )

    with CaptureQueriesContext(connection) as queries:
        check = services.course_check(name=name, semester="2026-fall", type="LECTURE")

    assert check.conflicts == []
    # One query, and no lab groups read: no candidate was found (it would be the first lecture).
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
