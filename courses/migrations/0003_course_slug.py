"""Course.slug: what the course's repositories are named after (see provisioning.naming)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_course_created_by_key"),
    ]

    operations = [
        migrations.AddField(
            model_name="course",
            name="slug",
            field=models.CharField(blank=True, default="", editable=False, max_length=150),
        ),
        migrations.AlterField(
            model_name="course",
            name="semester",
            field=models.CharField(
                help_text="YYYY-<term>, e.g. 2026-fall (see SEMESTER_TERMS).", max_length=32
            ),
        ),
    ]
