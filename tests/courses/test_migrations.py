"""The data migrations of this round, run on rows written by the code before them.

Each test migrates the test database back, writes rows with the historical models, migrates
forward, and checks the rows; it always ends with every migration applied again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_SLUGS = [("courses", "0003_course_slug"), ("provisioning", "0001_initial")]
AFTER_SEMESTERS = [("courses", "0006_normalize_semesters")]


class Migrator:
    def __init__(self) -> None:
        self.executor = MigrationExecutor(connection)

    def migrate(self, targets: list[tuple[str, str]]) -> Any:
        """Migrate to ``targets``; the historical apps of that state."""
        self.executor.loader.build_graph()  # the applied set changed since the last run
        self.executor.migrate(targets)
        return self.executor.loader.project_state(targets).apps

    def latest(self) -> None:
        self.executor.loader.build_graph()
        self.executor.migrate(self.executor.loader.graph.leaf_nodes())


@pytest.fixture
def migrator() -> Iterator[Migrator]:
    migrator = Migrator()
    yield migrator
    migrator.latest()


def test_slugs_keep_the_old_repository_names_and_semesters_get_one_spelling(migrator, capsys):
    apps = migrator.migrate(BEFORE_SLUGS)
    Course = apps.get_model("courses", "Course")
    Resource = apps.get_model("provisioning", "ExternalResource")

    def course(name: str, semester: str) -> Any:
        return Course.objects.create(name=name, semester=semester, type="LECTURE")

    fall = course("Algorithms", "Fall 2026")
    chinese = course("编程", "2026-fall")  # the old handlers named its repository "2026-fall"
    algebra, algebra_again = course("Algebra", "2026-fall"), course("Algebra", "FALL 2026")
    older_twin, owner_twin = course("databases!", "2026-fall"), course("Databases", "2026-fall")
    Resource.objects.create(
        course=owner_twin, provider="github", kind="repository", key="2026-fall-databases"
    )
    unknown = course("Compilers", "Sommer 26")

    apps = migrator.migrate(AFTER_SEMESTERS)
    Course = apps.get_model("courses", "Course")

    rows = {row.id: row for row in Course.objects.all()}
    assert (rows[fall.id].slug, rows[fall.id].semester) == ("fall-2026-algorithms", "2026-fall")
    assert rows[chinese.id].slug == "2026-fall"
    assert rows[algebra.id].semester == "2026-fall"
    assert rows[algebra_again.id].semester == "FALL 2026"  # would duplicate "Algebra" 2026-fall
    assert rows[algebra_again.id].slug == "fall-2026-algebra"
    assert rows[owner_twin.id].slug == "2026-fall-databases"  # it made the repository
    assert rows[older_twin.id].slug == f"2026-fall-databases-{older_twin.id.hex[:8]}"
    assert rows[unknown.id].semester == "Sommer 26"
    output = capsys.readouterr().out
    assert str(older_twin.id) in output
    assert f"{algebra_again.id} 'Algebra': 'FALL 2026' would duplicate" in output
    assert f"{unknown.id} 'Compilers': 'Sommer 26' is no semester" in output


def test_running_steps_become_in_progress_and_back(migrator):
    apps = migrator.migrate([("provisioning", "0001_initial"), *AFTER_SEMESTERS])
    Course = apps.get_model("courses", "Course")
    Step = apps.get_model("provisioning", "ProvisioningStep")
    course = Course.objects.create(name="Algorithms", semester="2026-fall", type="LECTURE")
    running = Step.objects.create(
        course=course, name="CREATE_GITHUB_REPO", order=3, status="RUNNING"
    )
    done = Step.objects.create(
        course=course, name="SETUP_DISCORD_SERVER", order=1, status="COMPLETED"
    )

    apps = migrator.migrate(
        [("provisioning", "0002_step_in_progress_and_choices"), *AFTER_SEMESTERS]
    )
    Step = apps.get_model("provisioning", "ProvisioningStep")
    assert Step.objects.get(id=running.id).status == "IN_PROGRESS"
    assert Step.objects.get(id=done.id).status == "COMPLETED"

    apps = migrator.migrate([("provisioning", "0001_initial"), *AFTER_SEMESTERS])
    assert apps.get_model("provisioning", "ProvisioningStep").objects.get(id=running.id).status == (
        "RUNNING"
    )


BEFORE_OWNED_NAMES = [("courses", "0011_course_unnamed_by_semester")]
AFTER_OWNED_NAMES = [("courses", "0013_owned_repository_fill")]


def test_live_courses_own_their_repository_names_and_a_clash_keeps_one_owner(migrator, capsys):
    apps = migrator.migrate(BEFORE_OWNED_NAMES)
    Course = apps.get_model("courses", "Course")
    LabGroup = apps.get_model("courses", "LabGroup")
    Resource = apps.get_model("provisioning", "ExternalResource")
    made = iter(range(1, 100))

    def course(name: str, *numbers: int, slug: str | None = None, **fields: Any) -> Any:
        if slug is None:
            slug = "2026-fall-" + name.lower().replace(" ", "-")
        row = Course.objects.create(
            name=name,
            semester="2026-fall",
            type="LABORATORY" if numbers else "LECTURE",
            slug=slug,
            **fields,
        )
        # Made in this order, whatever the clock's resolution.
        Course.objects.filter(id=row.id).update(created_at=f"2026-09-{next(made):02d}T00:00:00Z")
        for number in numbers:
            LabGroup.objects.create(course=row, name=f"Group {number}", number=number)
        return row

    lab = course("Grp2", 1, 2)
    lecture = course("Grp2 Group 1")  # created at once with the lab: both passed the check
    net = course("Net", 1)
    net_lecture = course("Net Group 1")  # newer, but it made the repository on GitHub
    Resource.objects.create(
        course=net_lecture,
        provider="github",
        kind="repository",
        key="2026-fall-net-group-1",
        state="confirmed",
    )
    legacy = course("Compilers", slug="")  # named on the fly: its legacy slug
    other_org = course("Grp2 group 1!", slug="2026-fall-grp2-group-1", github_org="other-org")
    course("Old", deleted_at="2026-10-01T00:00:00Z")  # torn down: owns nothing

    apps = migrator.migrate(AFTER_OWNED_NAMES)
    Owned = apps.get_model("courses", "OwnedRepository")

    assert set(Owned.objects.values_list("course_id", "github_org", "name")) == {
        (lab.id, "", "2026-fall-grp2-group-1"),
        (lab.id, "", "2026-fall-grp2-group-2"),
        (net_lecture.id, "", "2026-fall-net-group-1"),
        (legacy.id, "", "2026-fall-compilers"),
        (other_org.id, "other-org", "2026-fall-grp2-group-1"),
    }
    output = capsys.readouterr().out
    assert f"2026-fall-grp2-group-1: {lab.id} 'Grp2' keeps it; {lecture.id}" in output
    assert f"2026-fall-net-group-1: {net_lecture.id} 'Net Group 1' keeps it; {net.id}" in output

    apps = migrator.migrate(BEFORE_OWNED_NAMES)  # and back: the table goes
    assert "courses_ownedrepository" not in connection.introspection.table_names()


def test_the_course_that_made_the_repository_keeps_its_name_not_the_one_whose_create_failed(
    migrator,
):
    """Both courses of such a race have a repository row: the winner's confirmed, the loser's left
    intended when its create met the winner's repository. The winner keeps the name, though newer
    (the other is listed, to be torn down: that must not be the one holding the repository)."""
    apps = migrator.migrate(BEFORE_OWNED_NAMES)
    Course = apps.get_model("courses", "Course")
    LabGroup = apps.get_model("courses", "LabGroup")
    Resource = apps.get_model("provisioning", "ExternalResource")
    lab = Course.objects.create(
        name="Net", semester="2026-fall", type="LABORATORY", slug="2026-fall-net"
    )
    Course.objects.filter(id=lab.id).update(created_at="2026-09-01T00:00:00Z")
    LabGroup.objects.create(course=lab, name="G1", number=1)
    lecture = Course.objects.create(
        name="Net Group 1", semester="2026-fall", type="LECTURE", slug="2026-fall-net-group-1"
    )
    Course.objects.filter(id=lecture.id).update(created_at="2026-09-02T00:00:00Z")
    name = "2026-fall-net-group-1"
    Resource.objects.create(
        course=lecture, provider="github", kind="repository", key=name, state="confirmed"
    )
    Resource.objects.create(
        course=lab, provider="github", kind="repository", key=name, state="intended"
    )

    apps = migrator.migrate(AFTER_OWNED_NAMES)
    owner = apps.get_model("courses", "OwnedRepository").objects.get(name=name).course_id
    migrator.latest()

    assert owner == lecture.id
