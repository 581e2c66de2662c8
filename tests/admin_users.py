"""Admin users holding Django model permissions, and their clients: fixtures for the admin tests
of every app (loaded by tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

# What course staff are given: run courses, read everything provisioning and audit record, feed
# the Discord server pool.
STAFF_PERMISSIONS = (
    "courses.add_course",
    "courses.change_course",
    "courses.delete_course",  # tear a course down (the admin's button, DELETE /courses/{id})
    "courses.view_course",
    "audit.view_auditlog",
    "provisioning.view_provisioningstep",
    "provisioning.view_jobexecution",
    "provisioning.view_externalresource",
    "provisioning.add_discordserver",
    "provisioning.change_discordserver",
    "provisioning.delete_discordserver",
    "provisioning.view_discordserver",
)
PASSWORD = "correct horse battery staple"


def grant(user: User, *perms: str) -> User:
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(username: str, *perms: str, is_staff: bool = True, **extra: Any) -> User:
        user = User.objects.create_user(username, password=PASSWORD, is_staff=is_staff, **extra)
        return grant(user, *perms)

    return make


@pytest.fixture
def staff(make_user) -> User:
    return make_user("staff", *STAFF_PERMISSIONS)


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def viewer_client(make_user) -> Client:
    """Staff who may look at courses but not act on them."""
    client = Client()
    client.force_login(make_user("viewer", "courses.view_course", "audit.view_auditlog"))
    return client
