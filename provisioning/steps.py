"""The fixed sequence of steps for each course type, and the handler of each step."""

from __future__ import annotations

from collections.abc import Callable

from courses.models import Course
from provisioning.context import StepContext
from provisioning.handlers import changes, discord, github, verify
from provisioning.models import StepName

Handler = Callable[[StepContext], None]

HANDLERS: dict[str, Handler] = {
    StepName.SETUP_DISCORD_SERVER: discord.setup_discord_server,
    StepName.CREATE_DISCORD_CHANNELS: discord.create_lecture_channels,
    StepName.CREATE_GITHUB_REPO: github.create_repos,
    StepName.SEED_GITHUB_CONTENT: github.seed_repos,
    StepName.APPLY_BRANCH_PROTECTION: github.protect_repos,
    StepName.CREATE_GROUP_ROLES: discord.create_group_roles,
    StepName.CREATE_GROUP_CHANNELS: discord.create_group_channels,
    StepName.CREATE_GROUP_REPOS: github.create_repos,
    StepName.SEED_GROUP_CONTENT: github.seed_repos,
    StepName.APPLY_GROUP_BRANCH_PROTECTIONS: github.protect_repos,
    StepName.RENAME_DISCORD_SERVER: discord.rename_discord_server,
    StepName.DESCRIBE_GITHUB_REPOS: changes.describe_repos,
    StepName.VERIFY_RESOURCES: verify.verify_resources,
}

# Seeding comes before protection: the branch must exist, and protection would block the commit.
STEPS: dict[str, tuple[StepName, ...]] = {
    Course.Type.LECTURE: (
        StepName.SETUP_DISCORD_SERVER,
        StepName.CREATE_DISCORD_CHANNELS,
        StepName.CREATE_GITHUB_REPO,
        StepName.SEED_GITHUB_CONTENT,
        StepName.APPLY_BRANCH_PROTECTION,
    ),
    Course.Type.LABORATORY: (
        StepName.SETUP_DISCORD_SERVER,
        StepName.CREATE_GROUP_ROLES,
        StepName.CREATE_GROUP_CHANNELS,
        StepName.CREATE_GROUP_REPOS,
        StepName.SEED_GROUP_CONTENT,
        StepName.APPLY_GROUP_BRANCH_PROTECTIONS,
    ),
}


# The steps of the operations that change a course after its provisioning. Adding lab groups
# reuses the group handlers: they pass over every confirmed resource without a call, so only the
# new groups' roles, channels and repositories are made.
CHANGE_STEPS: dict[str, tuple[StepName, ...]] = {
    "ADD_GROUPS": STEPS[Course.Type.LABORATORY][1:],
    "RENAME": (StepName.RENAME_DISCORD_SERVER, StepName.DESCRIBE_GITHUB_REPOS),
    # Reads only (provisioning.drift): one step, its report stored as a DriftReport.
    "VERIFY": (StepName.VERIFY_RESOURCES,),
}


def steps_for(course_type: str) -> tuple[StepName, ...]:
    return STEPS[course_type]
