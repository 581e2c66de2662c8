"""Names are clean text: control, bidirectional and zero-width characters are refused, naming the
field; "@everyone" and "@here" are defused where a name reaches Discord; snowflakes fit 64 bits."""

from __future__ import annotations

import pytest

from courses.models import Course
from provisioning.handlers.discord import without_mentions
from tests.api.helpers import assert_error, laboratory_body, lecture_body
from tests.provisioning.helpers import guild_of

pytestmark = pytest.mark.django_db

UNSAFE = {
    "escape-sequence": "Algo\x1b[31mrithms",
    "newline": "Algorithms\r\nInjected: line",
    "tab": "Algo\trithms",
    "right-to-left-override": "Algorithms \u202egnp.exe",
    "left-to-right-isolate": "Algo\u2066rithms",
    "zero-width-space": "Algo\u200brithms",
    "zero-width-joiner": "Algo\u200drithms",
    "byte-order-mark": "\ufeffAlgorithms",
    "line-separator": "Algo\u2028rithms",
}


@pytest.mark.parametrize("case", list(UNSAFE))
def test_course_names_refuse_invisible_and_control_characters(api, case):
    response = api.post("/courses", lecture_body(name=UNSAFE[case]), format="json")

    body = assert_error(response, 400, contains="name")
    assert "printable text only" in body["details"]["name"][0]
    assert not Course.objects.exists()


@pytest.mark.parametrize("case", ["escape-sequence", "right-to-left-override", "zero-width-space"])
def test_group_names_refuse_them_naming_the_group(api, case):
    body = laboratory_body(groups=2)
    body["labGroups"][1]["name"] = UNSAFE[case]

    details = assert_error(api.post("/courses", body, format="json"), 400)["details"]

    assert list(details) == ["labGroups.1.name"]
    assert "printable text only" in details["labGroups.1.name"][0]


def test_ordinary_unicode_names_pass(api):
    body = lecture_body(name="Žluťoučký kůň — Ελληνικά 日本語 (2.0)")

    assert api.post("/courses", body, format="json").status_code == 202


@pytest.mark.parametrize(
    ("guild_id", "status"),
    [
        (str(2**64 - 1), 202),  # the largest snowflake
        (str(2**64), 400),  # 20 digits, but past 64 bits: Discord would refuse it
        ("99999999999999999999", 400),
    ],
)
def test_snowflakes_fit_64_bits(api, guild_id, status):
    response = api.post("/courses", lecture_body(discordGuildId=guild_id), format="json")

    assert response.status_code == status, response.json()
    if status == 400:
        assert "discordGuildId" in response.json()["details"]


def test_mentions_are_defused():
    assert without_mentions("Ask @everyone and @HERE, mail a@b.c") == (
        "Ask @\u200beveryone and @\u200bHERE, mail a@b.c"
    )


def test_mentions_never_reach_discord_names(platforms, provision):
    platforms.add_servers(1)

    course = provision(name="Team @everyone", type="LABORATORY", groups=("@here crew",))

    assert course.status == Course.Status.COMPLETED, course.steps.values_list("last_error")
    guild = guild_of(platforms.state(), course)
    # Discord's own @everyone role (its id is the server's) is the only real mention.
    roles = [role["name"] for role in guild["roles"] if role["id"] != course.discord_guild_id]
    names = [guild["name"], *roles, *(channel.get("topic") or "" for channel in guild["channels"])]
    assert "Team @\u200beveryone · 2026-fall" in names
    assert "Group 1: @\u200bhere crew" in names
    assert not any("@everyone" in name or "@here" in name for name in names)
