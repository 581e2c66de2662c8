"""The fixed sequence of steps for each course type, and the handler of each step."""

from __future__ import annotations

from collections.abc import Callable

from courses.models import Course
from provisioning.context import StepContext
from provisioning.handlers import discord, github

Handler = Callable[[StepContext], None]

HANDLERS: dict[str, Handler] = {
    "SETUP_DISCORD_SERVER": discord.setup_discord_server,
    "CREATE_DISCORD_CHANNELS": discord.create_lecture_channels,
    "CREATE_GITHUB_REPO": github.create_repos,
    "SEED_GITHUB_CONTENT": github.seed_repos,
    "APPLY_BRANCH_PROTECTION": github.protect_repos,
    "CREATE_GROUP_ROLES": discord.create_group_roles,
    "CREATE_GROUP_CHANNELS": discord.create_group_channels,
    "CREATE_GROUP_REPOS": github.create_repos,
    "SEED_GROUP_CONTENT": github.seed_repos,
    "APPLY_GROUP_BRANCH_PROTECTIONS": github.protect_repos,
}

# Seeding comes before protection: the branch must exist, and protection would block the commit.
STEPS: dict[str, tuple[str, ...]] = {
    Course.Type.LECTURE: (
        "SETUP_DISCORD_SERVER",
        "CREATE_DISCORD_CHANNELS",
        "CREATE_GITHUB_REPO",
        "SEED_GITHUB_CONTENT",
        "APPLY_BRANCH_PROTECTION",
    ),
    Course.Type.LABORATORY: (
        "SETUP_DISCORD_SERVER",
        "CREATE_GROUP_ROLES",
        "CREATE_GROUP_CHANNELS",
        "CREATE_GROUP_REPOS",
        "SEED_GROUP_CONTENT",
        "APPLY_GROUP_BRANCH_PROTECTIONS",
    ),
}


def steps_for(course_type: str) -> tuple[str, ...]:
    return STEPS[course_type]
