"""Sync a course's roster to the platforms (a SYNC_MEMBERS operation) and spend invitations.

TO BE WRITTEN (helper: people sync). Signatures are fixed: the roster services, API, CLI and
admin call them.

Discord invite links are ExternalResource rows (provider discord, kind ``invite``) keyed
``group-<number>`` (a lab group's, giving its role), ``staff`` and ``members`` (a lecture's);
their ``external_id`` is the invite code, ``url`` the https://discord.gg/<code> link.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from courses.models import Course
from provisioning.models import Operation

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from api.models import ApiKey


def members_sync(
    *, course: Course, requested_by_key: ApiKey | None = None, requested_by_user: User | None = None
) -> Operation:
    """Start a SYNC_MEMBERS operation; ``OperationBusyError`` while another runs."""
    raise NotImplementedError
