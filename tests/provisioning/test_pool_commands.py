"""The pool is checked: `discord_servers add` asks Discord whether the bot can work in the server
(the check SETUP_DISCORD_SERVER makes), `remove` takes out only unused servers, `list` counts."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from provisioning.models import DiscordServer
from tests.factories import CourseFactory, DiscordServerFactory

pytestmark = pytest.mark.django_db

NO_ROLES = str(1 << 4 | 1 << 10)  # MANAGE_CHANNELS and VIEW_CHANNEL only


def run(*args: str) -> str:
    out = StringIO()
    call_command("discord_servers", *args, stdout=out)
    return out.getvalue()


def test_add_checks_the_bot_with_its_permissions_then_registers(platforms):
    guild_id = platforms.control.create_guild(name="Room A")["id"]
    before = len(platforms.requests("discord"))

    assert f"Server {guild_id} is available: the bot is in it." in run("add", guild_id)

    checked = [entry["route"] for entry in platforms.requests("discord")[before:]]
    assert checked == ["/users/@me/guilds"]  # one call: the bot's own entry, with its permissions
    assert DiscordServer.objects.get().guild_id == guild_id


def test_add_finds_the_server_among_many_with_its_one_call(platforms):
    """The bot's servers are listed by id: the one asked for is found next to its neighbours."""
    ids = [platforms.control.create_guild(name=f"Room {n}")["id"] for n in range(5)]
    outsider = platforms.control.create_guild(name="No bot", bot_member=False)["id"]

    assert "is available" in run("add", ids[2])
    with pytest.raises(CommandError, match=f"The bot is not in Discord server {outsider}"):
        run("add", outsider)


def test_add_refuses_a_server_without_the_bot_with_the_invite_link(platforms):
    guild_id = platforms.control.create_guild(name="No bot", bot_member=False)["id"]

    with pytest.raises(CommandError) as refused:
        run("add", guild_id)

    assert f"The bot is not in Discord server {guild_id}" in str(refused.value)
    assert "oauth2/authorize?client_id=100000000000000001&scope=bot" in str(refused.value)
    assert f"guild_id={guild_id}" in str(refused.value)
    assert not DiscordServer.objects.exists()


def test_add_refuses_a_bot_without_its_permissions_naming_them(platforms):
    guild_id = platforms.control.create_guild(name="Weak bot", permissions=NO_ROLES)["id"]

    with pytest.raises(
        CommandError, match="The bot lacks MANAGE_GUILD, MANAGE_ROLES in Discord server"
    ):
        run("add", guild_id)
    assert not DiscordServer.objects.exists()


def test_add_when_discord_does_not_answer_is_a_clear_error(settings):
    settings.DISCORD_API_URL = "http://127.0.0.1:1/discord/api/v10"
    settings.INTEGRATIONS_SAFE_RETRIES = 0

    with pytest.raises(CommandError, match="Discord"):
        run("add", "123456789012345678")
    assert not DiscordServer.objects.exists()


def test_add_refuses_a_malformed_id_without_asking_discord(settings):
    settings.DISCORD_API_URL = "http://127.0.0.1:1/discord/api/v10"
    with pytest.raises(CommandError, match="not a Discord server id"):
        run("add", "12345")


def test_remove_takes_out_an_unused_server():
    DiscordServerFactory(guild_id="123456789012345678")

    assert "is out of the pool" in run("remove", "123456789012345678")
    assert not DiscordServer.objects.exists()


def test_remove_refuses_a_claimed_server_naming_the_course():
    course = CourseFactory(name="Compilers")
    DiscordServerFactory(guild_id="123456789012345678", status="claimed", course=course)

    with pytest.raises(CommandError, match=rf"used by course Compilers.*{course.id}"):
        run("remove", "123456789012345678")
    assert DiscordServer.objects.count() == 1


def test_remove_refuses_a_server_a_course_names():
    course = CourseFactory(name="Networks", discord_guild_id="123456789012345678")
    DiscordServerFactory(guild_id="123456789012345678")

    with pytest.raises(CommandError, match=str(course.id)):
        run("remove", "123456789012345678")
    assert DiscordServer.objects.count() == 1


def test_remove_an_unknown_server_says_so():
    with pytest.raises(CommandError, match="is not in the pool"):
        run("remove", "123456789012345678")


def test_list_counts_and_warns_below_the_low_watermark(settings):
    settings.POOL_LOW_WATERMARK = 2
    DiscordServerFactory(guild_id="111111111111111111")
    DiscordServerFactory(guild_id="222222222222222222", status="claimed", course=CourseFactory())

    listed = run("list")

    assert "1 available, 1 claimed." in listed
    assert "Warning: fewer than POOL_LOW_WATERMARK=2 available" in listed
    assert "discord_servers add GUILD_ID" in listed
    assert "oauth2/authorize?client_id=" in listed


def test_list_does_not_warn_at_the_watermark(settings):
    settings.POOL_LOW_WATERMARK = 1
    DiscordServerFactory(guild_id="111111111111111111")

    listed = run("list")

    assert "1 available, 0 claimed." in listed
    assert "Warning" not in listed
