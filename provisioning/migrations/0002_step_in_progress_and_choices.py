"""Step statuses speak the contract (RUNNING is now IN_PROGRESS); names and kinds get choices."""

from django.db import migrations, models

STEP_NAMES = [
    ("SETUP_DISCORD_SERVER", "Set up the Discord server"),
    ("CREATE_DISCORD_CHANNELS", "Create the Discord channels"),
    ("CREATE_GITHUB_REPO", "Create the GitHub repository"),
    ("SEED_GITHUB_CONTENT", "Seed the repository"),
    ("APPLY_BRANCH_PROTECTION", "Protect the main branch"),
    ("CREATE_GROUP_ROLES", "Create the group roles"),
    ("CREATE_GROUP_CHANNELS", "Create the group channels"),
    ("CREATE_GROUP_REPOS", "Create the group repositories"),
    ("SEED_GROUP_CONTENT", "Seed the group repositories"),
    ("APPLY_GROUP_BRANCH_PROTECTIONS", "Protect the group repositories' main branches"),
]
RESOURCE_KINDS = [
    ("server", "Discord server"),
    ("channel", "Channel"),
    ("role", "Role"),
    ("repository", "Repository"),
    ("seed", "Seeded content"),
    ("protection", "Branch protection"),
]


def running_to_in_progress(apps, schema_editor):
    Step = apps.get_model("provisioning", "ProvisioningStep")
    Step.objects.filter(status="RUNNING").update(status="IN_PROGRESS")


def in_progress_to_running(apps, schema_editor):
    Step = apps.get_model("provisioning", "ProvisioningStep")
    Step.objects.filter(status="IN_PROGRESS").update(status="RUNNING")


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="provisioningstep",
            name="status",
            field=models.CharField(
                choices=[
                    ("PENDING", "Pending"),
                    ("IN_PROGRESS", "In progress"),
                    ("COMPLETED", "Completed"),
                    ("FAILED", "Failed"),
                    ("SKIPPED", "Skipped"),
                ],
                db_index=True,
                default="PENDING",
                max_length=16,
            ),
        ),
        migrations.RunPython(running_to_in_progress, in_progress_to_running),
        migrations.AlterField(
            model_name="provisioningstep",
            name="name",
            field=models.CharField(choices=STEP_NAMES, max_length=64),
        ),
        migrations.AlterField(
            model_name="externalresource",
            name="kind",
            field=models.CharField(choices=RESOURCE_KINDS, max_length=32),
        ),
    ]
