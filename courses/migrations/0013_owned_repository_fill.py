"""Record the repository names every live course owns (``courses.OwnedRepository``).

The names are computed by ``provisioning.naming``, as the GitHub handlers and the clash check
compute them: the table must hold exactly the names the running code creates, and the naming
module imports no model (it works on the historical rows as on the live ones), as in 0004.

Two live courses may already own one name (made by two concurrent creates before this table, the
race it closes): only one of them can hold it. The one that recorded the repository on GitHub
(a confirmed ``ExternalResource``) keeps it, else the older one; the other keeps its other names and is
listed: its GitHub step failed, or will, on the other's repository (a rename keeps repository
names), so an operator tears it down and creates it again under another name. A migration that
stopped on this would leave the deployment stuck.
"""

import sys
from collections import defaultdict

from django.db import migrations

from provisioning.naming import legacy_slug, repository_names


def fill(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    LabGroup = apps.get_model("courses", "LabGroup")
    OwnedRepository = apps.get_model("courses", "OwnedRepository")
    ExternalResource = apps.get_model("provisioning", "ExternalResource")
    # Made: confirmed. The loser of such a race has a row too, left "intended" when its create
    # met the winner's repository (no marker).
    made = set(
        ExternalResource.objects.filter(
            provider="github", kind="repository", state="confirmed"
        ).values_list("course_id", "key")
    )
    numbers = defaultdict(list)
    groups = LabGroup.objects.filter(course__deleted_at__isnull=True).order_by("number")
    for course_id, number in groups.values_list("course_id", "number"):
        numbers[course_id].append(number)
    claims = defaultdict(list)  # (org, name) -> the courses owning it, oldest first
    for course in Course.objects.filter(deleted_at__isnull=True).order_by("created_at", "id"):
        slug = course.slug or legacy_slug(name=course.name, semester=course.semester)
        names = repository_names(slug=slug, type=course.type, group_numbers=numbers[course.id])
        for name in dict.fromkeys(names):
            claims[(course.github_org, name)].append(course)
    rows, skipped = [], []
    for (org, name), courses in claims.items():
        # Stable: the oldest first among those that made it, or among all.
        courses.sort(key=lambda course: (course.id, name) not in made)
        rows.append(OwnedRepository(course_id=courses[0].id, github_org=org, name=name))
        skipped += [(course, name, courses[0]) for course in courses[1:]]
    OwnedRepository.objects.bulk_create(rows, batch_size=1000)
    if skipped:
        sys.stdout.write(
            "\n  Repository names claimed by two live courses: one keeps each; tear the other down "
            "and create it again under another name:\n"
        )
        for course, name, owner in skipped:
            sys.stdout.write(
                f"    {name}: {owner.id} {owner.name!r} keeps it; {course.id} {course.name!r} "
                f"({course.semester}) does not own it\n"
            )


def empty(apps, schema_editor):
    apps.get_model("courses", "OwnedRepository").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0012_owned_repository"),
        ("provisioning", "0001_initial"),
    ]

    operations = [migrations.RunPython(fill, empty, elidable=False)]
