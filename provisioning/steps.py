"""Every step's handler: the provisioning steps of each course type
(``provisioning.handlers.provision``) and those of the operations that change a course."""

from __future__ import annotations

from courses.models import Course
from provisioning.handlers import (
    archive,
    changes,
    discord,
    people,
    repair,
    teardown,
    verify,
)
from provisioning.handlers.provision import PROVISION_HANDLERS, STEPS, Handler, steps_for
from provisioning.models import StepName

HANDLERS: dict[str, Handler] = {
    **PROVISION_HANDLERS,
    StepName.RENAME_DISCORD_SERVER: discord.rename_discord_server,
    StepName.DESCRIBE_GITHUB_REPOS: changes.describe_repos,
    StepName.VERIFY_RESOURCES: verify.verify_resources,
    StepName.ARCHIVE_DISCORD_CHANNELS: archive.archive_channels,
    StepName.ARCHIVE_DISCORD_SERVER: archive.archive_server,
    StepName.ARCHIVE_GITHUB_REPOS: archive.archive_repos,
    StepName.UNARCHIVE_GITHUB_REPOS: archive.unarchive_repos,
    StepName.UNARCHIVE_DISCORD_SERVER: archive.unarchive_server,
    StepName.UNARCHIVE_DISCORD_CHANNELS: archive.unarchive_channels,
    StepName.DELETE_DISCORD_CHANNELS: teardown.delete_channels,
    StepName.DELETE_DISCORD_ROLES: teardown.delete_roles,
    StepName.REMOVE_GITHUB_TEAMS: teardown.remove_teams,
    StepName.REMOVE_GITHUB_REPOS: teardown.remove_repos,
    StepName.RELEASE_DISCORD_SERVER: teardown.release_server,
    StepName.REPAIR_RESOURCES: repair.repair_resources,
    StepName.SYNC_STAFF_ROLE: people.sync_staff_role,
    StepName.SYNC_INVITE_LINKS: people.sync_invite_links,
    StepName.SYNC_GITHUB_TEAMS: people.sync_github_teams,
    StepName.SYNC_GITHUB_MEMBERS: people.sync_github_members,
}

# The steps of the operations that change a course after its provisioning. Adding lab groups
# reuses the group handlers: they pass over every confirmed resource without a call, so only the
# new groups' roles, channels and repositories are made.
CHANGE_STEPS: dict[str, tuple[StepName, ...]] = {
    "ADD_GROUPS": STEPS[Course.Type.LABORATORY][1:],
    "RENAME": (StepName.RENAME_DISCORD_SERVER, StepName.DESCRIBE_GITHUB_REPOS),
    # Reads only (provisioning.drift): one step, its report stored as a DriftReport.
    "VERIFY": (StepName.VERIFY_RESOURCES,),
    # Semester end; unarchive undoes archive in reverse order.
    "ARCHIVE": (
        StepName.ARCHIVE_DISCORD_CHANNELS,
        StepName.ARCHIVE_DISCORD_SERVER,
        StepName.ARCHIVE_GITHUB_REPOS,
    ),
    "UNARCHIVE": (
        StepName.UNARCHIVE_GITHUB_REPOS,
        StepName.UNARCHIVE_DISCORD_SERVER,
        StepName.UNARCHIVE_DISCORD_CHANNELS,
    ),
    # What the course made, removed in the reverse order of its making; the server last.
    "TEARDOWN": (
        StepName.DELETE_DISCORD_CHANNELS,
        StepName.DELETE_DISCORD_ROLES,
        StepName.REMOVE_GITHUB_TEAMS,
        StepName.REMOVE_GITHUB_REPOS,
        StepName.RELEASE_DISCORD_SERVER,
    ),
    "REPAIR": (StepName.REPAIR_RESOURCES,),
    # The roster carried to the platforms (people): Discord first, it needs no budget.
    "SYNC_MEMBERS": (
        StepName.SYNC_STAFF_ROLE,
        StepName.SYNC_INVITE_LINKS,
        StepName.SYNC_GITHUB_TEAMS,
        StepName.SYNC_GITHUB_MEMBERS,
    ),
}

__all__ = ["CHANGE_STEPS", "HANDLERS", "STEPS", "Handler", "steps_for"]
