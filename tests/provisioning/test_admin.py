"""Steps, job executions and resources (read-only), and the Discord server pool."""

from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from integrations.discord.permissions import REQUIRED_BOT_PERMISSIONS
from provisioning.models import DiscordServer, JobExecution, ProvisioningStep
from tests.factories import CourseFactory, DiscordServerFactory

pytestmark = pytest.mark.django_db
POOL_URL = reverse("admin:provisioning_discordserver_changelist")


# --- read-only records of provisioning --------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "fields", "filter_query", "expected"),
    [
        (
            ProvisioningStep,
            [
                {"name": "SETUP_DISCORD_SERVER", "order": 1, "status": "COMPLETED"},
                {"name": "CREATE_GITHUB_REPO", "order": 2, "status": "FAILED"},
            ],
            "status__exact=FAILED",
            ["CREATE_GITHUB_REPO"],
        ),
        (
            JobExecution,
            [
                {"task_id": "first", "outcome": "FAILED"},
                {"task_id": "second", "outcome": "COMPLETED"},
            ],
            "outcome__exact=COMPLETED",
            ["second"],
        ),
    ],
)
def test_steps_and_runs_are_read_only_and_filter_by_status(
    admin_client, model, fields, filter_query, expected
):
    course = CourseFactory()
    rows = [model.objects.create(course=course, **values) for values in fields]
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    response = admin_client.get(f"{url}?{filter_query}")

    assert response.status_code == 200
    label = "name" if model is ProvisioningStep else "task_id"
    assert [getattr(row, label) for row in response.context["cl"].result_list] == expected
    change = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[rows[0].pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {}).status_code == 403
    assert (
        admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")).status_code
        == 403
    )
    delete = reverse(f"admin:{opts.app_label}_{opts.model_name}_delete", args=[rows[0].pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403


# --- the Discord server pool ------------------------------------------------------------------


def test_adding_a_server_validates_its_id_as_a_snowflake(staff_client):
    response = staff_client.post(
        reverse("admin:provisioning_discordserver_add"),
        {"guild_id": "12345", "name": "Too short"},
    )

    assert response.status_code == 200
    [message] = response.context["adminform"].form.errors["guild_id"]
    assert message.startswith("A Discord server id is a snowflake of 17 to 20 digits")
    assert not DiscordServer.objects.exists()


def test_adding_a_server_registers_it_in_the_pool(staff_client, platforms):
    guild_id = platforms.control.create_guild(name="Made by staff")["id"]
    response = staff_client.post(
        reverse("admin:provisioning_discordserver_add"),
        {"guild_id": f" {guild_id} ", "name": "Staff server"},
    )

    assert response.status_code == 302
    server = DiscordServer.objects.get()
    assert (server.guild_id, server.name, server.status) == (guild_id, "Staff server", "available")


def test_adding_a_server_without_the_bot_says_how_to_invite_it(staff_client, platforms):
    guild_id = platforms.control.create_guild(name="No bot", bot_member=False)["id"]
    response = staff_client.post(
        reverse("admin:provisioning_discordserver_add"), {"guild_id": guild_id, "name": "X"}
    )

    assert response.status_code == 200
    [message] = response.context["adminform"].form.errors["guild_id"]
    assert f"The bot is not in Discord server {guild_id}" in message
    assert "https://discord.com/oauth2/authorize?client_id=" in message
    assert not DiscordServer.objects.exists()


def test_the_add_page_links_the_bot_invite_with_the_required_permissions(staff_client):
    html = staff_client.get(reverse("admin:provisioning_discordserver_add")).content.decode()

    assert (
        "https://discord.com/oauth2/authorize?client_id=100000000000000001&amp;scope=bot"
        f"&amp;permissions={REQUIRED_BOT_PERMISSIONS}"
    ) in html
    assert (
        "MANAGE_CHANNELS, MANAGE_GUILD, VIEW_CHANNEL, SEND_MESSAGES, READ_MESSAGE_HISTORY, "
        "MANAGE_ROLES"
    ) in html


def test_the_list_shows_the_claiming_course_and_a_ready_invite_url(staff_client, settings):
    settings.DISCORD_APPLICATION_ID = "200000000000000002"
    course = CourseFactory(name="Compilers")
    DiscordServerFactory(guild_id="111111111111111111", status="claimed", course=course)
    DiscordServerFactory(guild_id="222222222222222222")

    response = staff_client.get(POOL_URL)
    html = response.content.decode()

    course_url = reverse("admin:courses_course_change", args=[course.pk])
    assert f'<a href="{course_url}">Compilers (2026-fall)</a>' in html
    invites = [
        href for href in _hrefs(html) if href.startswith("https://discord.com/oauth2/authorize?")
    ]
    assert len(invites) == 2
    query = parse_qs(urlsplit(invites[0]).query)
    assert query == {
        "client_id": ["200000000000000002"],
        "scope": ["bot"],
        "permissions": [str(REQUIRED_BOT_PERMISSIONS)],
        "guild_id": [query["guild_id"][0]],
        "disable_guild_select": ["true"],
    }
    assert {parse_qs(urlsplit(url).query)["guild_id"][0] for url in invites} == {
        "111111111111111111",
        "222222222222222222",
    }


def test_a_claimed_server_keeps_its_claim(staff_client):
    course = CourseFactory()
    server = DiscordServerFactory(status="claimed", course=course, name="Old name")
    change = reverse("admin:provisioning_discordserver_change", args=[server.pk])

    renamed = staff_client.post(change, {"name": "New name", "guild_id": "999999999999999999"})
    deleted = staff_client.post(
        reverse("admin:provisioning_discordserver_delete", args=[server.pk]), {"post": "yes"}
    )

    assert renamed.status_code == 302
    assert deleted.status_code == 403
    server.refresh_from_db()
    assert (server.name, server.status, server.course_id) == ("New name", "claimed", course.pk)
    assert server.guild_id != "999999999999999999", "the id is read-only once registered"


def test_an_available_server_can_be_removed(staff_client):
    server = DiscordServerFactory()

    response = staff_client.post(
        reverse("admin:provisioning_discordserver_delete", args=[server.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not DiscordServer.objects.exists()


def test_a_server_a_course_names_cannot_be_removed(staff_client):
    server = DiscordServerFactory()  # available, but a course was created with its id
    CourseFactory(discord_guild_id=server.guild_id)

    response = staff_client.post(
        reverse("admin:provisioning_discordserver_delete", args=[server.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert DiscordServer.objects.filter(pk=server.pk).exists()


def test_a_server_claimed_while_the_delete_page_was_open_stays(staff_client, monkeypatch):
    """The delete goes through the pool's compare-and-set, not the admin's earlier look."""
    server = DiscordServerFactory()
    course = CourseFactory()
    monkeypatch.setattr(
        "provisioning.admin.DiscordServerAdmin.has_delete_permission", lambda *args: True
    )
    DiscordServer.objects.filter(pk=server.pk).update(status="claimed", course=course)

    response = staff_client.post(
        reverse("admin:provisioning_discordserver_delete", args=[server.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert DiscordServer.objects.get(pk=server.pk).course == course


def _hrefs(html: str) -> list[str]:
    return [html_lib.unescape(href) for href in re.findall(r'href="([^"]+)"', html)]
