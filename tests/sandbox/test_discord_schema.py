"""Request bodies against Discord's official OpenAPI description, and channel-name normalization."""

from __future__ import annotations

import json

import pytest
import requests

from sandbox.discord.names import normalize_channel_name
from sandbox.discord.schema import (
    SUBSET_PATH,
    extract_subset,
    subset_validator,
    validate_request_body,
    validate_request_body_with_spec,
)
from tests.helpers import REFERENCE, ROOT

FULL_SPEC = REFERENCE / "discord-openapi.json"
TOKEN = "sandbox-discord-token"
BOT_ID = "100000000000000001"


def test_committed_subset_is_what_the_script_extracts():
    spec = json.loads(FULL_SPEC.read_text(encoding="utf-8"))
    committed = json.loads(SUBSET_PATH.read_text(encoding="utf-8"))
    assert committed == extract_subset(spec), (
        "regenerate: python -m sandbox.discord.schema extract tests/reference/discord-openapi.json"
    )
    license_copy = SUBSET_PATH.with_name("openapi_subset.LICENSE").read_text(encoding="utf-8")
    assert license_copy == (REFERENCE / "discord-openapi.LICENSE").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("method", "route", "body", "valid"),
    [
        ("POST", "/guilds/{guild_id}/channels", {"name": "a", "type": 4}, True),
        ("POST", "/guilds/{guild_id}/channels", {"name": "a", "parent_id": None}, True),
        ("POST", "/guilds/{guild_id}/channels", {"name": "a" * 101}, False),
        ("POST", "/guilds/{guild_id}/channels", {"name": "a", "type": 1}, False),
        ("POST", "/guilds/{guild_id}/channels", {"name": "a", "position": 2**31}, False),
        (
            "POST",
            "/guilds/{guild_id}/channels",
            {"name": "a", "permission_overwrites": [{"id": "1", "type": 0, "allow": 1024}]},
            True,
        ),
        ("POST", "/guilds/{guild_id}/roles", {"name": "r", "permissions": "1024"}, False),
        ("POST", "/channels/{channel_id}/invites", {}, True),
        ("POST", "/channels/{channel_id}/invites", None, False),
        ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", {"type": 0, "deny": 1}, True),
        ("GET", "/users/@me", None, True),
        ("POST", "/guilds", {"name": "removed from the description"}, False),
    ],
)
def test_validate_request_body(method, route, body, valid):
    problems = validate_request_body(method, route, body)
    assert (problems == []) is valid, problems
    assert validate_request_body_with_spec(FULL_SPEC, method, route, body) == problems


def test_every_body_the_sandbox_accepted_is_valid_for_the_full_description(
    sandbox, sandbox_control
):
    session = requests.Session()
    session.headers["Authorization"] = f"Bot {TOKEN}"
    base = sandbox.discord_api_url

    def call(method: str, path: str, body: object = None) -> dict:
        response = session.request(method, base + path, json=body, timeout=5)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    # A course provisioned the way the platform does it, plus every other write the fake serves.
    gid = sandbox_control.create_guild("Pool server 7")["id"]
    call("GET", "/users/@me/guilds")
    call("GET", f"/guilds/{gid}")
    call("PATCH", f"/guilds/{gid}", {"name": "CS 101 Fall 2026", "description": None})
    call("GET", f"/guilds/{gid}/members/{BOT_ID}")
    group = call("POST", f"/guilds/{gid}/roles", {"name": "Group 1", "permissions": 0})
    call("POST", f"/guilds/{gid}/roles", {"name": "Tutors", "colors": {"primary_color": 255}})
    category = call("POST", f"/guilds/{gid}/channels", {"name": "Groups", "type": 4})
    private = call(
        "POST",
        f"/guilds/{gid}/channels",
        {
            "name": "Group 1",
            "type": 0,
            "topic": "Group work",
            "parent_id": category["id"],
            "permission_overwrites": [
                {"id": gid, "type": 0, "deny": 1024},
                {"id": group["id"], "type": 0, "allow": 68608},
                {"id": BOT_ID, "type": 1, "allow": 1024},
            ],
        },
    )
    call("PATCH", f"/channels/{private['id']}", {"topic": "Group 1 only", "position": 2})
    call("PUT", f"/channels/{private['id']}/permissions/{group['id']}", {"type": 0, "allow": 3072})
    call("POST", f"/channels/{private['id']}/invites", {})
    call("POST", f"/channels/{private['id']}/invites", {"max_age": 0, "role_ids": [group["id"]]})
    call("GET", f"/channels/{private['id']}/invites")
    scratch = call("POST", f"/guilds/{gid}/channels", {"name": "scratch"})
    call("DELETE", f"/channels/{scratch['id']}")
    # Refused bodies are not "accepted": they must not count.
    session.post(f"{base}/guilds/{gid}/channels", json={"name": ""}, timeout=5)

    accepted = [
        entry
        for entry in sandbox_control.requests()
        if entry["provider"] == "discord" and entry["status"] is not None and entry["status"] < 400
    ]
    assert sum(entry["body"] is not None for entry in accepted) >= 10
    for entry in accepted:
        problems = validate_request_body_with_spec(
            FULL_SPEC, entry["method"], entry["route"], entry["body"]
        )
        assert problems == [], (entry["method"], entry["route"], entry["body"], problems)


@pytest.mark.parametrize(
    ("asked", "stored"),
    [
        ("QA Help!!", "qa-help"),
        ("general", "general"),
        ("  Week 1 -- Intro  ", "week-1-intro"),
        ("CS101: Intro (Fall 2026)", "cs101-intro-fall-2026"),
        ("Übung_Gruppe 3", "übung_gruppe-3"),
        ("Café", "café"),
        ("日本語 チャンネル", "日本語-チャンネル"),
        ("-edge-", "edge"),
    ],
)
def test_normalize_channel_name(asked, stored):
    assert normalize_channel_name(asked) == stored


def test_the_sandbox_reads_only_its_own_subset():
    # Production images have no tests/: the subset ships inside the package.
    package = ROOT / "sandbox" / "discord"
    assert SUBSET_PATH.parent == package
    assert subset_validator().spec == json.loads(SUBSET_PATH.read_text(encoding="utf-8"))
