"""An invite link made again leaves no old link alive on Discord, against the sandbox over HTTP.

A recorded link that no longer fits (its role made again by a repair, Discord showing it with
other roles, past its expiry) gets a new link, and the old code is deleted once the new one is
recorded: exactly one new link, the old code gone from the sandbox, a crash anywhere in between
finished by a retry without a second link, and a re-run writes nothing. A link made by hand is
never adopted nor deleted.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.db import transaction

from courses.models import Course, CourseMember
from integrations.discord.client import DiscordClient
from provisioning import resources, runner
from provisioning.models import ExternalResource, Operation
from provisioning.operations import course_lock_idle, operation_start
from provisioning.people import members_sync
from provisioning.repair import course_repair, repair_plan
from provisioning.verify import course_verify, drift_report_latest
from sandbox.discord.state import Invite

pytestmark = pytest.mark.django_db

INVITE_POST = ("POST", "/channels/{channel_id}/invites")
INVITE_DELETE = ("DELETE", "/invites/{code}")


class SimulatedCrash(BaseException):
    """The process dies here."""


@pytest.fixture
def synced(platforms, provision, on_commit, settings) -> Course:
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    platforms.add_servers(1)
    lab = provision(name="Networks", type="LABORATORY", groups=("Alpha", "Beta"))
    CourseMember.objects.create(
        course=lab, role=CourseMember.Role.INSTRUCTOR, name="Ines", github_username="ines-prof"
    )
    with on_commit():
        members_sync(course=lab)
    lab.refresh_from_db()
    assert lab.status == Course.Status.COMPLETED
    return lab


def _row(course: Course, kind: str, key: str) -> ExternalResource:
    return ExternalResource.objects.get(course=course, kind=kind, key=key)


def _links(course: Course) -> dict[str, ExternalResource]:
    return {r.key: r for r in ExternalResource.objects.filter(course=course, kind="invite")}


def _live_codes(platforms, course: Course) -> set[str]:
    guild = platforms.state()["discord"]["guilds"][course.discord_guild_id]
    return {invite["code"] for invite in guild["invites"]}


def _calls(platforms, seen: int, route: tuple[str, str]) -> list[dict[str, Any]]:
    return [c for c in platforms.requests()[seen:] if (c["method"], c["route"]) == route]


def _writes(platforms, seen: int) -> list[tuple[str, str]]:
    return [(c["method"], c["path"]) for c in platforms.requests()[seen:] if c["method"] != "GET"]


def _drift(course: Course) -> set[tuple[str, str, str]]:
    report = drift_report_latest(course=course)
    assert report is not None
    return {(r["kind"], r["key"], r["state"]) for r in report.resources if r["state"] != "ok"}


def _verify(on_commit, course: Course) -> set[tuple[str, str, str]]:
    with on_commit():
        course_verify(course=course)
    return _drift(course)


def _assert_clean_ledger(platforms, course: Course) -> None:
    """Every live link of the server is a recorded one of the course, no note is left."""
    links = _links(course)
    assert _live_codes(platforms, course) == {r.external_id for r in links.values()}
    assert all(r.state == "confirmed" and "superseded" not in r.data for r in links.values())


def _assert_rerun_writes_nothing(platforms, on_commit, course: Course) -> None:
    seen = len(platforms.requests())
    with on_commit(), transaction.atomic():
        forced = operation_start(course=course_lock_idle(course=course), kind="REPAIR")
    forced.refresh_from_db()
    assert forced.status == Operation.Status.COMPLETED
    with on_commit():
        members_sync(course=course)
    assert _writes(platforms, seen) == []


def test_a_link_whose_role_was_deleted_is_made_anew_by_repair_and_the_old_one_deleted(
    synced, platforms, on_commit
):
    old = _row(synced, "invite", "group-2")
    old_role = _row(synced, "role", "group-2").external_id
    platforms.control.delete_role(synced.discord_guild_id, old_role)
    # Discord strips the deleted role from the link: it still lets anyone in, with no role.
    assert ("invite", "group-2", "changed") in _verify(on_commit, synced)
    assert any(
        "invite link group-2" in line and "delete the old one" in line
        for line in repair_plan(course=synced)["changes"]
    )
    seen = len(platforms.requests())

    with on_commit():
        course_repair(course=synced)

    [made] = _calls(platforms, seen, INVITE_POST)  # exactly one new link
    [deleted] = _calls(platforms, seen, INVITE_DELETE)
    assert (deleted["path"].rsplit("/", 1)[-1], deleted["status"]) == (old.external_id, 200)
    new = _row(synced, "invite", "group-2")
    new_role = _row(synced, "role", "group-2").external_id
    assert new.external_id != old.external_id and new.data["role_ids"] == [new_role]
    assert made["status"] == 200 and made["path"].endswith(f"/{new.data['channel_id']}/invites")
    assert old.external_id not in _live_codes(platforms, synced)
    _assert_clean_ledger(platforms, synced)
    with pytest.raises(RuntimeError, match="404"):
        platforms.control.accept_discord_invite(old.external_id, "late-student")
    joined = platforms.control.accept_discord_invite(new.external_id, "new-student")
    assert joined["roles"] == [new_role]
    assert _verify(on_commit, synced) == set()
    _assert_rerun_writes_nothing(platforms, on_commit, synced)


def test_a_link_discord_shows_with_other_roles_is_made_anew_and_a_hand_made_one_is_left(
    synced, platforms, on_commit, sandbox
):
    """The course's spec did not change (the role is there): the drift alone says to make it
    anew. A look-alike made by hand on the same channel, with the same role, is not ours."""
    old = _row(synced, "invite", "group-1")
    role = _row(synced, "role", "group-1").external_id
    fake = sandbox.sandbox.platforms["discord"]
    with sandbox.sandbox.lock:
        guild = fake.state.guilds[synced.discord_guild_id]
        guild.invites[old.external_id].role_ids = []  # the link's roles changed on Discord
        by_hand = Invite(
            "HandMade",
            guild.id,
            old.data["channel_id"],
            fake.state.staff_id,
            0,
            0,
            False,
            [role],
            time.time(),
        )
        guild.invites[by_hand.code] = by_hand
    assert _verify(on_commit, synced) == {("invite", "group-1", "changed")}
    seen = len(platforms.requests())

    with on_commit():
        course_repair(course=synced)

    assert len(_calls(platforms, seen, INVITE_POST)) == 1
    [deleted] = _calls(platforms, seen, INVITE_DELETE)
    assert deleted["path"].endswith(f"/invites/{old.external_id}")
    new = _row(synced, "invite", "group-1")
    assert new.external_id not in (old.external_id, by_hand.code)
    live = _live_codes(platforms, synced)
    assert old.external_id not in live and by_hand.code in live
    assert live - {by_hand.code} == {r.external_id for r in _links(synced).values()}
    assert platforms.control.accept_discord_invite(new.external_id, "ada")["roles"] == [role]
    assert _verify(on_commit, synced) == set()
    _assert_rerun_writes_nothing(platforms, on_commit, synced)


def _crash_between_create_and_record(monkeypatch) -> None:
    confirm = resources._confirm

    def crash_once(resource, found):
        if resource.kind == "invite":
            monkeypatch.setattr(resources, "_confirm", confirm)
            raise SimulatedCrash(resource.key)
        confirm(resource, found)

    monkeypatch.setattr(resources, "_confirm", crash_once)


def _crash_around_the_delete(monkeypatch, *, sent: bool) -> None:
    delete = DiscordClient.delete_invite

    def crash_once(self, code, **kwargs):
        monkeypatch.setattr(DiscordClient, "delete_invite", delete)
        if sent:
            delete(self, code, **kwargs)
        raise SimulatedCrash(code)

    monkeypatch.setattr(DiscordClient, "delete_invite", crash_once)


CRASHES = {
    "between the new link's create and its record": (_crash_between_create_and_record, [200]),
    "after the new link's record, before the delete": (
        lambda m: _crash_around_the_delete(m, sent=False),
        [200],
    ),
    "after the delete, before its note is cleared": (
        lambda m: _crash_around_the_delete(m, sent=True),
        [200, 404],  # the retry's delete finds it gone: done, not a failure
    ),
}


@pytest.mark.parametrize("where", list(CRASHES))
def test_a_crash_while_a_link_is_replaced_is_finished_by_the_retry_without_a_second_link(
    synced, platforms, on_commit, settings, monkeypatch, where
):
    crash, delete_statuses = CRASHES[where]
    old = _row(synced, "invite", "staff")
    platforms.control.delete_role(
        synced.discord_guild_id, _row(synced, "role", "staff").external_id
    )
    assert ("invite", "staff", "changed") in _verify(on_commit, synced)
    seen = len(platforms.requests())
    crash(monkeypatch)
    with pytest.raises(SimulatedCrash), on_commit():
        course_repair(course=synced)
    if "before the delete" in where:
        # The new link is recorded with the old code noted, and the old link still alive.
        link = _row(synced, "invite", "staff")
        assert link.state == "confirmed" and link.data["superseded"] == [old.external_id]
        assert old.external_id in _live_codes(platforms, synced)

    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    result = runner.run_course(synced.id)

    assert result.outcome == "COMPLETED"
    assert len(_calls(platforms, seen, INVITE_POST)) == 1  # no second new link
    deletes = _calls(platforms, seen, INVITE_DELETE)
    assert [c["status"] for c in deletes] == delete_statuses
    assert {c["path"] for c in deletes} == {f"/invites/{old.external_id}"}
    assert old.external_id not in _live_codes(platforms, synced)
    _assert_clean_ledger(platforms, synced)
    assert _verify(on_commit, synced) == set()
    _assert_rerun_writes_nothing(platforms, on_commit, synced)


def test_a_link_past_its_expiry_is_made_again_by_the_sync_with_no_delete(
    platforms, provision, on_commit, settings, sandbox
):
    """Discord drops an expired link by itself: nothing to delete, no call for it."""
    settings.GITHUB_WRITE_BUDGET = "100000/60"
    settings.DISCORD_INVITE_MAX_AGE = 3600
    platforms.add_servers(1)
    lecture = provision(name="Algorithms", type="LECTURE")
    with on_commit():
        members_sync(course=lecture)
    old = _row(lecture, "invite", "members")
    fake = sandbox.sandbox.platforms["discord"]
    with sandbox.sandbox.lock:  # an hour and a second later, on Discord's side and ours
        fake.state.guilds[lecture.discord_guild_id].invites[old.external_id].created_at -= 3601
    ExternalResource.objects.filter(id=old.id).update(
        data={**old.data, "expires_at": "2020-01-01T00:00:00+00:00"}
    )
    seen = len(platforms.requests())

    with on_commit():
        members_sync(course=lecture)

    assert len(_calls(platforms, seen, INVITE_POST)) == 1
    assert _calls(platforms, seen, INVITE_DELETE) == []
    new = _row(lecture, "invite", "members")
    assert new.external_id != old.external_id and "superseded" not in new.data
    assert old.external_id not in _live_codes(platforms, lecture)
    seen = len(platforms.requests())
    with on_commit():
        members_sync(course=lecture)
    assert _calls(platforms, seen, INVITE_POST) == _calls(platforms, seen, INVITE_DELETE) == []


def test_a_new_link_deleted_by_hand_before_the_old_one_was_deleted_keeps_the_note(
    synced, platforms, on_commit, settings, monkeypatch, sandbox
):
    """The repair forgets a link gone from Discord, but not the old code it still had to
    delete: the retry makes a link again and deletes the old one."""
    old = _row(synced, "invite", "staff")
    platforms.control.delete_role(
        synced.discord_guild_id, _row(synced, "role", "staff").external_id
    )
    _verify(on_commit, synced)
    seen = len(platforms.requests())
    _crash_around_the_delete(monkeypatch, sent=False)
    with pytest.raises(SimulatedCrash), on_commit():
        course_repair(course=synced)
    lost = _row(synced, "invite", "staff").external_id
    fake = sandbox.sandbox.platforms["discord"]
    with sandbox.sandbox.lock:  # staff delete the new link in Discord's app
        del fake.state.guilds[synced.discord_guild_id].invites[lost]

    settings.PROVISIONING_LEASE_SECONDS = 0
    assert runner.run_course(synced.id).outcome == "COMPLETED"

    assert len(_calls(platforms, seen, INVITE_POST)) == 2  # the lost one, and its replacement
    [deleted] = _calls(platforms, seen, INVITE_DELETE)
    assert (deleted["path"], deleted["status"]) == (f"/invites/{old.external_id}", 200)
    assert old.external_id not in _live_codes(platforms, synced)
    _assert_clean_ledger(platforms, synced)
    assert _verify(on_commit, synced) == set()
