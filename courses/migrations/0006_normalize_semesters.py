"""Store every semester in its one spelling, ``YYYY-<term>`` (courses.semesters).

Slugs are left alone: repositories keep their names. A row is left as it is, and listed, when its
semester is no spelling of a semester, or when normalizing it would give a second course with
the same name and semester.
"""

import sys

from django.db import migrations

from courses.semesters import SemesterError, semester_normalize


def normalize(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    taken = set(Course.objects.values_list("name", "semester"))
    left: list[str] = []
    for course in Course.objects.order_by("created_at", "id"):
        try:
            semester = semester_normalize(course.semester)
        except SemesterError:
            left.append(f"{course.id} {course.name!r}: {course.semester!r} is no semester")
            continue
        if semester == course.semester:
            continue
        if (course.name, semester) in taken:
            left.append(
                f"{course.id} {course.name!r}: {course.semester!r} would duplicate "
                f"{course.name!r} ({semester})"
            )
            continue
        taken.discard((course.name, course.semester))
        taken.add((course.name, semester))
        Course.objects.filter(id=course.id).update(semester=semester)
    if left:
        sys.stdout.write("\n  Semesters left as they were (fix them by hand):\n")
        for line in left:
            sys.stdout.write(f"    {line}\n")


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0005_course_unique_slug"),
    ]

    operations = [migrations.RunPython(normalize, migrations.RunPython.noop, elidable=False)]
