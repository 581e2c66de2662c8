"""Unit tests of the client calls that operations make (archive, unarchive, tear down, verify,
repair): what goes on the wire, idempotent deletes, error typing, one audit row per request.

HTTP is answered by ``responses``; nothing sleeps.
"""

from __future__ import annotations

import json
import re

import pytest
import responses

import integrations.github.client as github_client
from integrations.discord.client import DiscordClient
from integrations.errors import (
    ConflictError,
    NotFoundError,
    PermanentError,
    TransientError,
)
from integrations.github.client import (
    GitHubClient,
    PlanLimitError,
    RepoInfo,
    protection_differences,
)
from sandbox.discord.schema import validate_request_body_with_spec
from tests.helpers import REFERENCE
from tests.integrations.helpers import assert_secret_absent, audit_rows

pytestmark = pytest.mark.django_db

DISCORD = "https://discord.test/api/v10"
DISCORD_TOKEN = "secret-bot-token"
GUILD = "111111111111111111"
CHANNEL = "333333333333333333"
ROLE = "444444444444444444"
SPEC = REFERENCE / "discord-openapi.json"

GITHUB = "https://github.test/api/v3"
GITHUB_TOKEN = "secret-gh-token"
ORG = "uni"
REPO = "2026-fall-algo"


def sent_json(call: responses.Call) -> object:
    return json.loads(call.request.body or b"")


def error(code: int, message: str) -> dict:
    return {"message": message, "code": code}


# -- Discord ----------------------------------------------------------------------------------
@pytest.fixture
def discord(monkeypatch: pytest.MonkeyPatch) -> DiscordClient:
    monkeypatch.setattr("integrations.discord.client.time.sleep", lambda seconds: None)
    return DiscordClient(
        api_url=DISCORD, token=DISCORD_TOKEN, max_wait=1.0, safe_retries=2, safe_retry_delay=0
    )


def test_get_channel_is_one_audited_get(mocked, discord):
    answer = {"id": CHANNEL, "name": "general", "permission_overwrites": []}
    mocked.get(f"{DISCORD}/channels/{CHANNEL}", json=answer)

    assert discord.get_channel(CHANNEL) == answer

    (row,) = audit_rows()
    assert (row.provider, row.method, row.route) == ("discord", "GET", "/channels/{channel_id}")
    assert row.response_status == 200


def test_get_channel_of_a_deleted_channel_is_not_found(mocked, discord):
    mocked.get(f"{DISCORD}/channels/{CHANNEL}", status=404, json=error(10003, "Unknown Channel"))

    with pytest.raises(NotFoundError) as raised:
        discord.get_channel(CHANNEL)

    assert raised.value.code == 10003
    assert len(mocked.calls) == 1


def test_edit_channel_sends_name_and_overwrites_as_the_description_types_them(mocked, discord):
    overwrites = [
        {"id": GUILD, "type": 0, "allow": 0, "deny": 2048},
        {"id": ROLE, "type": 0, "allow": 1024, "deny": 2048},
    ]
    mocked.patch(f"{DISCORD}/channels/{CHANNEL}", json={"id": CHANNEL, "name": "lab"})

    discord.edit_channel(CHANNEL, name="lab", permission_overwrites=overwrites, reason="Archive")

    (call,) = mocked.calls
    body = sent_json(call)
    assert body == {"name": "lab", "permission_overwrites": overwrites}
    assert validate_request_body_with_spec(SPEC, "PATCH", "/channels/{channel_id}", body) == []
    assert call.request.headers["X-Audit-Log-Reason"] == "Archive"
    (row,) = audit_rows()
    assert (row.method, row.route) == ("PATCH", "/channels/{channel_id}")


def test_edit_channel_sends_only_what_is_given_and_refuses_nothing(mocked, discord):
    mocked.patch(f"{DISCORD}/channels/{CHANNEL}", json={"id": CHANNEL})

    discord.edit_channel(CHANNEL, permission_overwrites=[])

    assert sent_json(mocked.calls[0]) == {"permission_overwrites": []}
    with pytest.raises(ValueError):
        discord.edit_channel(CHANNEL)
    assert len(mocked.calls) == 1


def test_edit_channel_is_repeated_after_a_5xx_because_its_values_are_absolute(mocked, discord):
    url = f"{DISCORD}/channels/{CHANNEL}"
    mocked.patch(url, status=502, body="Bad Gateway")
    mocked.patch(url, json={"id": CHANNEL, "name": "lab"})

    assert discord.edit_channel(CHANNEL, name="lab")["name"] == "lab"

    assert [row.response_status for row in audit_rows()] == [502, 200]


def test_rename_guild_is_still_not_repeated(mocked, discord):
    mocked.patch(f"{DISCORD}/guilds/{GUILD}", status=502, body="Bad Gateway")

    with pytest.raises(TransientError):
        discord.rename_guild(GUILD, "[archived] Algorithms")

    assert len(mocked.calls) == 1


@pytest.mark.parametrize(
    ("method", "path", "route", "call"),
    [
        (
            "DELETE",
            f"/channels/{CHANNEL}",
            "/channels/{channel_id}",
            lambda c: c.delete_channel_if_present(CHANNEL, reason="Tear down"),
        ),
        (
            "DELETE",
            f"/guilds/{GUILD}/roles/{ROLE}",
            "/guilds/{guild_id}/roles/{role_id}",
            lambda c: c.delete_role_if_present(GUILD, ROLE, reason="Tear down"),
        ),
        (
            "DELETE",
            f"/channels/{CHANNEL}/permissions/{ROLE}",
            "/channels/{channel_id}/permissions/{overwrite_id}",
            lambda c: c.delete_channel_permission_if_present(CHANNEL, ROLE, reason="Tear down"),
        ),
    ],
)
def test_delete_if_present_is_true_when_deleted(mocked, discord, method, path, route, call):
    mocked.add(method, DISCORD + path, status=200 if "roles" not in path else 204)

    assert call(discord) is True

    (sent,) = mocked.calls
    assert sent.request.headers["X-Audit-Log-Reason"] == "Tear down"
    (row,) = audit_rows()
    assert (row.method, row.route) == (method, route)


@pytest.mark.parametrize(
    ("path", "code", "call"),
    [
        (f"/channels/{CHANNEL}", 10003, lambda c: c.delete_channel_if_present(CHANNEL)),
        (f"/guilds/{GUILD}/roles/{ROLE}", 10011, lambda c: c.delete_role_if_present(GUILD, ROLE)),
        (
            f"/channels/{CHANNEL}/permissions/{ROLE}",
            10009,
            lambda c: c.delete_channel_permission_if_present(CHANNEL, ROLE),
        ),
    ],
)
def test_delete_if_present_is_false_when_already_gone(mocked, discord, path, code, call):
    mocked.delete(DISCORD + path, status=404, json=error(code, "Unknown"))

    assert call(discord) is False

    assert len(mocked.calls) == 1
    assert [row.response_status for row in audit_rows()] == [404]


@pytest.mark.parametrize(
    ("path", "answer", "call"),
    [
        # The bot was removed from the server: the role may still exist.
        (
            f"/guilds/{GUILD}/roles/{ROLE}",
            error(10004, "Unknown Guild"),
            lambda c: c.delete_role_if_present(GUILD, ROLE),
        ),
        # The channel itself is gone: that is drift, not a removed overwrite.
        (
            f"/channels/{CHANNEL}/permissions/{ROLE}",
            error(10003, "Unknown Channel"),
            lambda c: c.delete_channel_permission_if_present(CHANNEL, ROLE),
        ),
    ],
)
def test_delete_if_present_raises_any_other_not_found(mocked, discord, path, answer, call):
    mocked.delete(DISCORD + path, status=404, json=answer)

    with pytest.raises(NotFoundError) as raised:
        call(discord)

    assert raised.value.code == answer["code"]


def test_plain_deletes_raise_not_found(mocked, discord):
    mocked.delete(f"{DISCORD}/channels/{CHANNEL}", status=404, json=error(10003, "Unknown Channel"))
    mocked.delete(f"{DISCORD}/guilds/{GUILD}/roles/{ROLE}", status=404, json=error(10011, "x"))
    mocked.delete(
        f"{DISCORD}/channels/{CHANNEL}/permissions/{ROLE}", status=404, json=error(10009, "x")
    )

    with pytest.raises(NotFoundError):
        discord.delete_channel(CHANNEL)
    with pytest.raises(NotFoundError):
        discord.delete_role(GUILD, ROLE)
    with pytest.raises(NotFoundError):
        discord.delete_channel_permission(CHANNEL, ROLE)


def test_delete_missing_permissions_is_permanent_and_not_repeated(mocked, discord):
    mocked.delete(
        f"{DISCORD}/guilds/{GUILD}/roles/{ROLE}",
        status=403,
        json=error(50013, "Missing Permissions"),
    )

    with pytest.raises(PermanentError) as raised:
        discord.delete_role_if_present(GUILD, ROLE)

    assert not isinstance(raised.value, NotFoundError)
    assert (raised.value.status, raised.value.code) == (403, 50013)
    assert len(mocked.calls) == 1


def test_a_delete_is_repeated_after_a_5xx_and_a_later_404_means_done(mocked, discord):
    """A DELETE whose answer was lost (a 502 after the effect) is sent again; the object is gone
    by then, and the retry is a success, not a failure."""
    url = f"{DISCORD}/channels/{CHANNEL}"
    mocked.delete(url, status=502, body="Bad Gateway")
    mocked.delete(url, status=404, json=error(10003, "Unknown Channel"))

    assert discord.delete_channel_if_present(CHANNEL) is False

    assert [row.response_status for row in audit_rows()] == [502, 404]


def test_the_bot_token_never_reaches_the_audit_trail_of_operations(mocked, discord, settings):
    settings.DISCORD_BOT_TOKEN = DISCORD_TOKEN
    mocked.delete(f"{DISCORD}/channels/{CHANNEL}", json={"id": CHANNEL, "token": DISCORD_TOKEN})
    mocked.patch(f"{DISCORD}/channels/{CHANNEL}", status=400, json=error(50035, DISCORD_TOKEN))

    discord.delete_channel_if_present(CHANNEL)
    with pytest.raises(PermanentError):
        discord.edit_channel(CHANNEL, name=DISCORD_TOKEN)

    assert_secret_absent(DISCORD_TOKEN)


# -- GitHub -----------------------------------------------------------------------------------
def gh(path: str) -> re.Pattern[str]:
    return re.compile(r"https://github\.test(:443)?/api/v3" + re.escape(path) + r"(\?.*)?$")


def repo_json(name: str = REPO, **extra: object) -> dict:
    return {
        "id": 4242,
        "name": name,
        "full_name": f"{ORG}/{name}",
        "html_url": f"https://github.test/{ORG}/{name}",
        "url": f"{GITHUB}/repos/{ORG}/{name}",
        "description": "Algorithms [course:abc]",
        "default_branch": "main",
        "private": True,
        "archived": False,
        **extra,
    }


def gh_error(status: int, message: str, **extra: object) -> dict:
    return {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": str(status),
        **extra,
    }


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(github_client.time, "sleep", recorded.append)
    return recorded


@pytest.fixture
def github(sleeps: list[float]) -> GitHubClient:
    return GitHubClient(
        api_url=GITHUB,
        token=GITHUB_TOKEN,
        org=ORG,
        seconds_between_writes=0,
        safe_retries=2,
        safe_retry_delay=0,
    )


def test_set_archived_patches_archived_and_returns_the_repository(mocked, github):
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), json=repo_json(archived=True))

    info = github.set_archived(REPO, True)

    assert info.archived is True and info.private is True
    (call,) = mocked.calls
    assert sent_json(call) == {"archived": True}
    (row,) = audit_rows()
    assert (row.provider, row.method, row.route) == ("github", "PATCH", "/repos/{owner}/{repo}")
    assert row.request_body == {"archived": True}


def test_set_archived_false_unarchives(mocked, github):
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), json=repo_json(archived=False))

    assert github.set_archived(REPO, False).archived is False
    assert sent_json(mocked.calls[0]) == {"archived": False}


def test_archiving_an_archived_repository_that_github_refuses_reads_it_back(mocked, github):
    mocked.patch(
        gh(f"/repos/{ORG}/{REPO}"),
        status=403,
        json=gh_error(403, "Repository was archived so is read-only."),
    )
    mocked.get(gh(f"/repos/{ORG}/{REPO}"), json=repo_json(archived=True))

    assert github.set_archived(REPO, True).archived is True
    assert [row.method for row in audit_rows()] == ["PATCH", "GET"]


def test_unarchiving_refused_is_permanent(mocked, github):
    mocked.patch(
        gh(f"/repos/{ORG}/{REPO}"),
        status=403,
        json=gh_error(403, "Must have admin rights to Repository."),
    )

    with pytest.raises(PermanentError) as raised:
        github.set_archived(REPO, False)

    assert raised.value.status == 403
    assert len(mocked.calls) == 1


def test_set_archived_is_repeated_after_a_502(mocked, github):
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), status=502, json=gh_error(502, "Server Error"))
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), json=repo_json(archived=True))

    assert github.set_archived(REPO, True).archived is True
    assert [row.response_status for row in audit_rows()] == [502, 200]


def test_set_private_patches_private(mocked, github):
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), json=repo_json(private=True))

    assert github.set_private(REPO).private is True

    assert sent_json(mocked.calls[0]) == {"private": True}
    (row,) = audit_rows()
    assert (row.method, row.route) == ("PATCH", "/repos/{owner}/{repo}")


def test_rename_repo_patches_name_and_description_in_one_write(mocked, github):
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), json=repo_json("2026-fall-algo-2", description="New"))

    info = github.rename_repo(REPO, "2026-fall-algo-2", description="New")

    assert (info.name, info.description) == ("2026-fall-algo-2", "New")
    assert sent_json(mocked.calls[0]) == {"name": "2026-fall-algo-2", "description": "New"}
    assert len(audit_rows()) == 1


def test_rename_repo_sent_again_follows_githubs_307_to_the_same_repository(mocked, github):
    """A crash after the rename: the retry PATCHes the old name, GitHub answers 307, and the
    client repeats the request verbatim at the new place (PyGithub alone would take the 307 for
    a success)."""
    location = f"{GITHUB}/repositories/4242"
    mocked.patch(
        gh(f"/repos/{ORG}/{REPO}"),
        status=307,
        json={"message": "Moved Permanently", "url": location},
        headers={"Location": location},
    )
    mocked.patch(gh("/repositories/4242"), json=repo_json("2026-fall-algo-2"))

    assert github.rename_repo(REPO, "2026-fall-algo-2").name == "2026-fall-algo-2"

    first, second = mocked.calls
    assert sent_json(first) == sent_json(second) == {"name": "2026-fall-algo-2"}
    assert [(row.response_status, row.route) for row in audit_rows()] == [
        (307, "/repos/{owner}/{repo}"),
        (200, "/repositories/{repo_id}"),
    ]


def test_rename_repo_to_a_taken_name_is_a_conflict(mocked, github):
    mocked.patch(
        gh(f"/repos/{ORG}/{REPO}"),
        status=422,
        json=gh_error(
            422,
            "Validation Failed",
            errors=[{"resource": "Repository", "code": "custom", "field": "name",
                     "message": "name already exists on this account"}],
        ),
    )  # fmt: skip

    with pytest.raises(ConflictError):
        github.rename_repo(REPO, "taken")
    assert len(mocked.calls) == 1


def test_get_repo_by_id_reads_repositories_id(mocked, github):
    mocked.get(gh("/repositories/4242"), json=repo_json("renamed-by-hand"))

    info = github.get_repo_by_id(4242)

    assert isinstance(info, RepoInfo) and info.name == "renamed-by-hand"
    (row,) = audit_rows()
    assert (row.method, row.route) == ("GET", "/repositories/{repo_id}")


def test_delete_repo_if_present_true_then_false(mocked, github):
    mocked.delete(gh(f"/repos/{ORG}/{REPO}"), status=204)
    mocked.delete(gh(f"/repos/{ORG}/{REPO}"), status=404, json=gh_error(404, "Not Found"))

    assert github.delete_repo_if_present(REPO) is True
    assert github.delete_repo_if_present(REPO) is False

    assert [(row.method, row.response_status) for row in audit_rows()] == [
        ("DELETE", 204),
        ("DELETE", 404),
    ]


def test_delete_repo_raises_not_found_and_forbidden_is_permanent(mocked, github):
    mocked.delete(gh(f"/repos/{ORG}/{REPO}"), status=404, json=gh_error(404, "Not Found"))
    mocked.delete(
        gh(f"/repos/{ORG}/{REPO}"),
        status=403,
        json=gh_error(403, "Must have admin rights to Repository."),
    )

    with pytest.raises(NotFoundError):
        github.delete_repo(REPO)
    with pytest.raises(PermanentError) as raised:
        github.delete_repo_if_present(REPO)
    assert not isinstance(raised.value, NotFoundError)
    assert "admin rights" in raised.value.message


def test_delete_repo_if_present_by_id_deletes_under_the_current_name(mocked, github):
    mocked.get(gh("/repositories/4242"), json=repo_json("renamed-by-hand"))
    mocked.delete(gh(f"/repos/{ORG}/renamed-by-hand"), status=204)

    assert github.delete_repo_if_present(REPO, repo_id=4242) is True

    assert [(row.method, row.route) for row in audit_rows()] == [
        ("GET", "/repositories/{repo_id}"),
        ("DELETE", "/repos/{owner}/{repo}"),
    ]


def test_delete_repo_if_present_by_id_of_a_deleted_repository_sends_no_delete(mocked, github):
    mocked.get(gh("/repositories/4242"), status=404, json=gh_error(404, "Not Found"))

    assert github.delete_repo_if_present(REPO, repo_id=4242) is False
    assert len(mocked.calls) == 1


def test_delete_repo_if_present_by_id_refuses_a_repository_outside_the_org(mocked, github):
    mocked.get(gh("/repositories/4242"), json=repo_json(full_name="someone/else"))

    with pytest.raises(PermanentError) as raised:
        github.delete_repo_if_present(REPO, repo_id=4242)

    assert "someone/else" in raised.value.message
    assert len(mocked.calls) == 1


def test_delete_repo_is_repeated_after_a_502(mocked, github):
    mocked.delete(gh(f"/repos/{ORG}/{REPO}"), status=502, json=gh_error(502, "Server Error"))
    mocked.delete(gh(f"/repos/{ORG}/{REPO}"), status=404, json=gh_error(404, "Not Found"))

    assert github.delete_repo_if_present(REPO) is False


PROTECTED = {
    "url": f"{GITHUB}/repos/{ORG}/{REPO}/branches/main/protection",
    "required_pull_request_reviews": {
        "dismiss_stale_reviews": False,
        "require_code_owner_reviews": False,
        "required_approving_review_count": 1,
    },
    "required_signatures": {"enabled": False},
    "enforce_admins": {"enabled": False},
    "required_linear_history": {"enabled": False},
    "allow_force_pushes": {"enabled": False},
    "allow_deletions": {"enabled": False},
}


def test_get_protection_returns_the_setting_or_none(mocked, github):
    path = f"/repos/{ORG}/{REPO}/branches/main/protection"
    mocked.get(gh(path), json=PROTECTED)
    mocked.get(gh(path), status=404, json=gh_error(404, "Branch not protected"))

    assert github.get_protection(REPO, branch="main") == PROTECTED
    assert github.get_protection(REPO, branch="main") is None

    assert [(row.method, row.route) for row in audit_rows()] == [
        ("GET", "/repos/{owner}/{repo}/branches/{branch}/protection"),
    ] * 2


@pytest.mark.parametrize("message", ["Branch not found", "Not Found"])
def test_get_protection_of_a_missing_branch_or_repository_is_not_found(mocked, github, message):
    mocked.get(
        gh(f"/repos/{ORG}/{REPO}/branches/main/protection"),
        status=404,
        json=gh_error(404, message),
    )

    with pytest.raises(NotFoundError):
        github.get_protection(REPO, branch="main")


def test_get_protection_on_a_free_plan_is_a_plan_limit(mocked, github):
    mocked.get(
        gh(f"/repos/{ORG}/{REPO}/branches/main/protection"),
        status=403,
        json=gh_error(
            403, "Upgrade to GitHub Pro or make this repository public to enable this feature."
        ),
    )

    with pytest.raises(PlanLimitError):
        github.get_protection(REPO, branch="main")


def test_protection_differences_names_each_loosened_setting():
    assert protection_differences(PROTECTED) == {}
    assert protection_differences(None) == {"protection": {"expected": "protected", "actual": None}}
    loosened = json.loads(json.dumps(PROTECTED))
    loosened["allow_force_pushes"]["enabled"] = True
    loosened["required_pull_request_reviews"]["required_approving_review_count"] = 0
    loosened["restrictions"] = {"users": []}
    assert protection_differences(loosened) == {
        "required_pull_request_reviews.required_approving_review_count": {
            "expected": 1,
            "actual": 0,
        },
        "allow_force_pushes.enabled": {"expected": False, "actual": True},
        "restrictions": {"expected": None, "actual": "set"},
    }
    del loosened["required_pull_request_reviews"]
    assert "required_pull_request_reviews.required_approving_review_count" in (
        protection_differences(loosened)
    )


def test_the_github_token_never_reaches_the_audit_trail_of_operations(mocked, github, settings):
    settings.GITHUB_TOKEN = GITHUB_TOKEN
    mocked.patch(gh(f"/repos/{ORG}/{REPO}"), json=repo_json(archived=True, token=GITHUB_TOKEN))
    mocked.delete(
        gh(f"/repos/{ORG}/{REPO}"), status=403, json=gh_error(403, f"token {GITHUB_TOKEN}")
    )

    github.set_archived(REPO, True)
    with pytest.raises(PermanentError):
        github.delete_repo(REPO)

    assert_secret_absent(GITHUB_TOKEN)
