"""Give the existing courses the slug their repositories were named after, so none is renamed.

Before slugs were stored, the GitHub handlers named repositories ``slugify("<semester>-<name>")``
(``provisioning.naming.legacy_slug``), computed from the semester as stored, so this runs before
semesters are normalized. Two courses could get the same slug ("Algorithms" and "algorithms!"):
only one of them can own the repositories. The one that recorded a repository keeps the slug
(else the oldest); the others get ``<slug>-<short id>`` and are listed.
"""

import sys
from collections import defaultdict

from django.db import migrations

from provisioning.naming import legacy_slug


def backfill(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    ExternalResource = apps.get_model("provisioning", "ExternalResource")
    owners = set(
        ExternalResource.objects.filter(provider="github", kind="repository").values_list(
            "course_id", flat=True
        )
    )
    by_slug = defaultdict(list)
    for course in Course.objects.filter(slug="").order_by("created_at", "id"):
        by_slug[legacy_slug(name=course.name, semester=course.semester)].append(course)
    renamed = []
    for slug, courses in by_slug.items():
        courses.sort(key=lambda course: course.id not in owners)  # stable: oldest first otherwise
        for index, course in enumerate(courses):
            course.slug = slug if index == 0 else f"{slug}-{course.id.hex[:8]}"
            course.save(update_fields=["slug"])
            if index:
                renamed.append(course)
    if renamed:
        sys.stdout.write(
            "\n  Courses sharing repository names with an older course now own their own "
            "(<slug>-<short id>):\n"
        )
        for course in renamed:
            sys.stdout.write(
                f"    {course.id} {course.name!r} ({course.semester}): {course.slug}\n"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0003_course_slug"),
        ("provisioning", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False)]
