"""Operations: every course's existing steps become one PROVISION operation; attempts are rows.

Attempts made before this migration are not reconstructed: their count and last error stay on
the step.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The course's status was its provisioning's: the operation takes it over.
STATUS = {"PENDING": "PENDING", "IN_PROGRESS": "IN_PROGRESS", "COMPLETED": "COMPLETED"}


def steps_into_operations(apps, schema_editor):
    Course = apps.get_model("courses", "Course")
    Operation = apps.get_model("provisioning", "Operation")
    Step = apps.get_model("provisioning", "ProvisioningStep")
    for course in Course.objects.filter(steps__isnull=False).distinct().iterator():
        steps = Step.objects.filter(course=course)
        started = steps.exclude(started_at=None).order_by("started_at").first()
        finished = steps.exclude(finished_at=None).order_by("-finished_at").first()
        status = STATUS.get(course.status, "FAILED")
        operation = Operation.objects.create(
            course=course,
            kind="PROVISION",
            status=status,
            requested_by_key_id=course.created_by_key_id,
            requested_by_user_id=course.created_by_user_id,
            started_at=started.started_at if started else None,
            finished_at=finished.finished_at
            if finished and status in ("COMPLETED", "FAILED")
            else None,
        )
        Operation.objects.filter(id=operation.id).update(created_at=course.created_at)
        steps.update(operation=operation)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_apikey_is_admin"),
        ("courses", "0007_course_created_by_user"),
        ("provisioning", "0002_step_in_progress_and_choices"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="provisioningstep",
            name="name",
            field=models.CharField(
                choices=[
                    ("SETUP_DISCORD_SERVER", "Set up the Discord server"),
                    ("CREATE_DISCORD_CHANNELS", "Create the Discord channels"),
                    ("CREATE_GITHUB_REPO", "Create the GitHub repository"),
                    ("SEED_GITHUB_CONTENT", "Seed the repository"),
                    ("APPLY_BRANCH_PROTECTION", "Protect the main branch"),
                    ("CREATE_GROUP_ROLES", "Create the group roles"),
                    ("CREATE_GROUP_CHANNELS", "Create the group channels"),
                    ("CREATE_GROUP_REPOS", "Create the group repositories"),
                    ("SEED_GROUP_CONTENT", "Seed the group repositories"),
                    (
                        "APPLY_GROUP_BRANCH_PROTECTIONS",
                        "Protect the group repositories' main branches",
                    ),
                    ("RENAME_DISCORD_SERVER", "Rename the Discord server"),
                    ("DESCRIBE_GITHUB_REPOS", "Describe the repositories anew"),
                ],
                max_length=64,
            ),
        ),
        migrations.CreateModel(
            name="Operation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("PROVISION", "Provision"),
                            ("ADD_GROUPS", "Add lab groups"),
                            ("RENAME", "Rename"),
                        ],
                        max_length=32,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("PENDING", "Pending"),
                            ("IN_PROGRESS", "In progress"),
                            ("COMPLETED", "Completed"),
                            ("FAILED", "Failed"),
                        ],
                        db_index=True,
                        default="PENDING",
                        max_length=16,
                    ),
                ),
                ("params", models.JSONField(blank=True, default=dict)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["course", "created_at", "id"],
            },
        ),
        migrations.CreateModel(
            name="StepAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("RUNNING", "Running"),
                            ("SUCCEEDED", "Succeeded"),
                            ("SKIPPED", "Skipped"),
                            ("RETRYING", "Failed, retried"),
                            ("DEFERRED", "Failed, re-scheduled"),
                            ("FAILED", "Failed"),
                            ("INTERRUPTED", "Interrupted"),
                        ],
                        default="RUNNING",
                        max_length=16,
                    ),
                ),
                ("error", models.TextField(blank=True, default="")),
                (
                    "retry_after",
                    models.FloatField(
                        blank=True, help_text="Seconds waited before the next attempt.", null=True
                    ),
                ),
            ],
            options={
                "ordering": ["step", "number", "id"],
            },
        ),
        migrations.RemoveConstraint(
            model_name="provisioningstep",
            name="step_unique_per_course",
        ),
        migrations.AddField(
            model_name="operation",
            name="course",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="operations",
                to="courses.course",
            ),
        ),
        migrations.AddField(
            model_name="operation",
            name="requested_by_key",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="api.apikey",
            ),
        ),
        migrations.AddField(
            model_name="operation",
            name="requested_by_user",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="provisioningstep",
            name="operation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="steps",
                to="provisioning.operation",
            ),
        ),
        migrations.RunPython(steps_into_operations, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="provisioningstep",
            constraint=models.UniqueConstraint(
                fields=("operation", "name"), name="step_unique_per_operation"
            ),
        ),
        migrations.AddField(
            model_name="stepattempt",
            name="step",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attempt_log",
                to="provisioning.provisioningstep",
            ),
        ),
    ]
