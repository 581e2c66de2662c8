"""``manage.py demo`` reads like a report for course staff."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from sandbox.demo_report import overwrite_in_words, role_label

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def output(settings) -> str:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_both_courses_complete_and_rerunning_sends_nothing(output):
    assert "Lecture \u201cIntroduction to Programming\u201d (2026-fall): completed in " in output
    assert "Laboratory \u201cOperating Systems Lab\u201d (2026-fall): completed in " in output
    assert "Re-running both completed courses sent 0 requests" in output
    calls = re.search(
        r"the two courses sent (\d+) requests to the sandbox; (\d+) audit rows", output
    )
    assert calls and calls.group(1) == calls.group(2)
    assert re.search(r"^Total time: \d+\.\d s$", output, re.MULTILINE)


def test_names_have_one_at_sign_and_no_real_platform_links(output):
    assert "@@" not in output
    assert "@everyone (every member)" in output
    assert "discord.com" not in output
    assert "github.com" not in output
    assert "(sandbox, id " in output  # the servers
    assert "(sandbox, private)" in output  # the repositories


def test_permissions_are_said_in_words(output):
    assert (
        "#announcements: members \u2014 read, cannot write (denied SEND_MESSAGES); the bot "
        "\u2014 read and write (allowed VIEW_CHANNEL, SEND_MESSAGES, READ_MESSAGE_HISTORY)"
    ) in output
    assert "#general: open to every member" in output
    assert (
        "#group-1-monday-morning: members \u2014 cannot see the channel (denied VIEW_CHANNEL); "
        "@Group 1: Monday morning \u2014 read and write"
    ) in output


def test_each_repository_once_with_its_files_and_protection(output):
    for name in (
        "2026-fall-introduction-to-programming",
        "2026-fall-operating-systems-lab-group-1",
        "2026-fall-operating-systems-lab-group-2",
    ):
        assert output.count(name) == 1, name
    assert output.count("files: .github/pull_request_template.md, CONTRIBUTING.md, README.md") == 3
    assert (
        output.count(
            "protection of main: changes through a pull request with 1 approval; force pushes "
            "blocked; deletion blocked"
        )
        == 3
    )


def test_closing_block_says_how_to_go_on(output, settings):
    closing = output[output.index("What next") :]
    assert "python manage.py createsuperuser" in closing
    assert "python manage.py runserver" in closing
    assert "http://127.0.0.1:8000/admin/" in closing
    assert "http://127.0.0.1:8000/api/docs" in closing
    assert str(settings.DATABASES["default"]["NAME"]) in closing  # where the data lives


def test_words_for_overwrites_and_roles():
    assert role_label("@everyone") == "@everyone"
    assert role_label("Group 1: A") == "@Group 1: A"
    assert overwrite_in_words("0", "1024") == "cannot see the channel (denied VIEW_CHANNEL)"
    assert overwrite_in_words(0, 0) == "read"


def test_the_demo_refuses_to_run_against_the_real_platforms(settings):
    settings.INTEGRATIONS_MODE = "live"
    with pytest.raises(CommandError, match="only with INTEGRATIONS_MODE=sandbox"):
        call_command("demo", stdout=StringIO())


def test_the_laboratorys_semester_is_played_after_provisioning(output):
    """Roster (a dry run reporting the bad line, then the import and its sync), the link sheet, a
    student joining with her group's role, verify, a repair of a channel deleted by hand, and the
    semester archived: each said in the report, none failed."""
    semester = output[output.index("The semester of") :]
    assert "line 8, email: Not a valid email address: eve-at-uni." in semester
    assert "line 8, group: No lab group 7 in this course" in semester
    assert "Roster imported without that line: 6 members; their sync completed" in semester
    assert re.search(r"Ada Student \(student, group 1\): https://discord\.gg/\w+", semester)
    assert "she joins the server with the role of group 1." in semester
    assert re.search(
        r"Verify: \d+ resources compared with the platforms, \d+ requests, 0 of", semester
    )
    # Discord deletes a channel's invite links with it.
    assert (
        "the next verify finds: channel group-2-thursday-afternoon missing, invite group-2 missing."
        in semester
    )
    assert "Repair completed" in semester and "finds nothing amiss" in semester
    assert "Archived: 2 of 2 courses" in semester
    assert "group members can read but no longer post" in semester
    assert "WARNING" not in output
