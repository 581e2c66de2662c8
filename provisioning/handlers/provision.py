"""The provisioning steps of each course type, in order, and their handlers.

Apart from ``provisioning.steps`` (which adds the change operations' handlers) so that a repair
(``provisioning.handlers.repair``) can run a course's provisioning handlers again without
importing the registry that imports it.
"""

from __future__ import annotations

from collections.abc import Callable

from courses.models import Course
from provisioning.context import StepContext
from provisioning.handlers import discord, github
from provisioning.models import StepName

Handler = Callable[[StepContext], None]

PROVISION_HANDLERS: dict[str, Handler] = {
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


def steps_for(course_type: str) -> tuple[StepName, ...]:
    return STEPS[course_type]
