"""Regressions found reviewing the course operations (archive, tear down, their admin pages):
a failed archive can be undone, a tear down says what it could not tell was its own, and the
admin asks for a tear down the permission the API asks."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse

from courses.models import Course
from integrations.errors import PermanentError
from integrations.github.client import GitHubClient
from provisioning.archive import course_archive, course_unarchive
from provisioning.context import discord_client
from provisioning.handlers import repair as repair_handlers
from provisioning.models import ExternalResource, Operation
from provisioning.repair import course_repair
from provisioning.teardown import course_teardown, teardown_plan
from provisioning.verify import course_verify
from tests.admin_users import STAFF_PERMISSIONS

pytestmark = pytest.mark.django_db


@pytest.fixture
def lecture(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Compilers")
    assert course.status == Course.Status.COMPLETED
    return course


def _channel_overwrites(platforms, guild_id: str) -> dict[str, list]:
    channels = platforms.state()["discord"]["guilds"][guild_id]["channels"]
    return {c["id"]: sorted(map(str, c.get("permission_overwrites", []))) for c in channels}


def test_an_archive_that_failed_part_way_is_undone_by_unarchive(
    lecture, platforms, on_commit, monkeypatch, staff_client
):
    """The repositories' step fails for good after the channels went read-only and the server
    was renamed: the course is FAILED, not archived, and an unarchive puts those back."""
    guild_id = lecture.discord_guild_id
    guild = platforms.state()["discord"]["guilds"][guild_id]
    name_before, overwrites_before = guild["name"], _channel_overwrites(platforms, guild_id)

    def refused(self: GitHubClient, *args: object, **kwargs: object) -> None:
        raise PermanentError("GitHub: the app may not archive this repository", provider="github")

    with monkeypatch.context() as patched:
        patched.setattr(GitHubClient, "set_archived", refused)
        with on_commit():
            course_archive(course=lecture)
    lecture.refresh_from_db()
    assert (lecture.status, lecture.archived_at) == (Course.Status.FAILED, None)
    assert platforms.state()["discord"]["guilds"][guild_id]["name"].startswith("[archived] ")
    page = reverse("admin:courses_course_change", args=[lecture.pk])
    assert 'id="operation-unarchive"' in staff_client.get(page).content.decode()

    with on_commit():
        operation = course_unarchive(course=lecture)
    operation.refresh_from_db()
    lecture.refresh_from_db()

    assert operation.status == Operation.Status.COMPLETED
    assert (lecture.status, lecture.archived_at) == (Course.Status.COMPLETED, None)
    assert platforms.state()["discord"]["guilds"][guild_id]["name"] == name_before
    assert _channel_overwrites(platforms, guild_id) == overwrites_before
    # The failed archive is over: its failed step is not what a retry would run again.
    archive = lecture.operations.get(kind=Operation.Kind.ARCHIVE)
    assert not archive.steps.filter(status="FAILED").exists()


def test_a_staff_role_whose_creation_was_never_confirmed_is_said_to_be_left(
    lecture, platforms, on_commit
):
    """The roster sync writes the staff role's intent right before creating it (no look-first
    mark): the role may exist, so a tear down cannot drop the row silently."""
    role = discord_client().create_role(lecture.discord_guild_id, name="Course staff")
    ExternalResource.objects.create(
        course=lecture, provider="discord", kind="role", key="staff"
    )  # the sync died between its create and its record

    with on_commit():
        operation = course_teardown(course=lecture)
    operation.refresh_from_db()

    assert operation.status == Operation.Status.COMPLETED
    assert "staff" in operation.params["outcomes"]["DELETE_DISCORD_ROLES"]
    roles = platforms.state()["discord"]["guilds"][lecture.discord_guild_id]["roles"]
    assert role["id"] in {r["id"] for r in roles}  # not ours to delete by its name


def test_the_admin_tear_down_needs_the_delete_permission_as_the_api_does(lecture, make_user):
    """``DELETE /courses/{id}`` asks a staff session for ``courses.delete_course``; the admin's
    button must not let the same person do it with ``change_course`` only."""
    changer = Client()
    changes_only = [perm for perm in STAFF_PERMISSIONS if perm != "courses.delete_course"]
    changer.force_login(make_user("changer", *changes_only))
    page = reverse("admin:courses_course_change", args=[lecture.pk])
    teardown = reverse("admin:courses_course_teardown", args=[lecture.pk])

    assert 'id="operation-teardown"' not in changer.get(page).content.decode()
    assert changer.get(teardown).status_code == 403
    assert changer.post(teardown, {"confirm_name": "Compilers"}).status_code == 403
    assert not lecture.operations.filter(kind=Operation.Kind.TEARDOWN).exists()

    deleter = Client()
    deleter.force_login(make_user("deleter", *STAFF_PERMISSIONS))
    assert 'id="operation-teardown"' in deleter.get(page).content.decode()
    assert deleter.get(teardown).status_code == 200


def test_tearing_down_an_archived_course_opens_the_channel_it_adopted_again(
    platforms, provision, on_commit
):
    """Semester end, then the server goes back to the pool: the #general of Discord's template
    (adopted, so it stays) must not stay read-only for the next course that adopts it."""
    [guild_id] = platforms.add_servers(1, default_channels=True)
    course = provision(name="Algorithms")
    general = ExternalResource.objects.get(course=course, kind="channel", key="general")
    assert general.data["adopted"] is True
    before = _channel_overwrites(platforms, guild_id)[general.external_id]
    with on_commit():
        course_archive(course=course)
    assert _channel_overwrites(platforms, guild_id)[general.external_id] != before
    assert any(
        "general" in change and "put back" in change
        for change in teardown_plan(course=course)["changes"]
    )

    with on_commit():
        operation = course_teardown(course=course)
    operation.refresh_from_db()

    assert operation.status == Operation.Status.COMPLETED
    assert _channel_overwrites(platforms, guild_id)[general.external_id] == before
    # The next course of the pool adopts it open, as the first did.
    again = provision(name="Algorithms")
    assert again.status == Course.Status.COMPLETED and again.discord_guild_id == guild_id
    assert _channel_overwrites(platforms, guild_id)[general.external_id] == before


def test_a_repair_that_lost_the_course_during_its_check_forgets_nothing(
    platforms, provision, on_commit, monkeypatch
):
    """The drift check reads every resource and may outlast the lease: a run that another has
    taken over meanwhile must not delete ledger rows the new run may have just re-made."""
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha",))
    channel = ExternalResource.objects.get(course=course, kind="channel", key="group-1-alpha")
    platforms.control.delete_channel(channel.external_id)
    with on_commit():
        course_verify(course=course)

    real_check = repair_handlers.course_drift_check

    def check_then_lose_the_course(**kwargs: object) -> list:
        checked = real_check(**kwargs)
        Course.objects.filter(id=course.id).update(run_token=uuid.uuid4())  # taken over
        return checked

    monkeypatch.setattr(repair_handlers, "course_drift_check", check_then_lose_the_course)
    with on_commit():
        course_repair(course=course)

    assert ExternalResource.objects.filter(id=channel.id).exists()
