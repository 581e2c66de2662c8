"""A small client of the sandbox's ``/_sandbox`` control endpoints, for tests, demo and scripts."""

from __future__ import annotations

from typing import Any

import requests


class SandboxControl:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        response = self.session.request(
            method, f"{self.base_url}/_sandbox{path}", json=json, timeout=self.timeout
        )
        if response.status_code >= 400:
            raise RuntimeError(f"sandbox {method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def reset(self, **options: dict[str, Any]) -> None:
        self._call("POST", "/reset", options)

    def configure(self, **options: dict[str, Any]) -> None:
        self._call("PATCH", "/config", options)

    def create_guild(self, name: str = "Staff-made server", **options: Any) -> dict[str, Any]:
        """Stand in for staff creating a Discord server and adding the bot to it."""
        return self._call("POST", "/discord/guilds", {"name": name, **options})

    def create_org(self, login: str, plan: str = "team", role: str = "admin") -> dict[str, Any]:
        return self._call("POST", "/github/orgs", {"login": login, "plan": plan, "role": role})

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        return self._call("PUT", "/faults", faults)

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/state")

    def requests(self, since: int = 0) -> list[dict[str, Any]]:
        return self._call("GET", f"/requests?since={since}")

    # -- drift: what people do on the platforms behind the app's back -------------------------
    def delete_channel(self, channel_id: str) -> None:
        self._call("DELETE", f"/discord/channels/{channel_id}")

    def drop_overwrite(self, channel_id: str, overwrite_id: str) -> None:
        """Remove one permission overwrite (for a role or a member) from a channel."""
        self._call("DELETE", f"/discord/channels/{channel_id}/overwrites/{overwrite_id}")

    def delete_role(self, guild_id: str, role_id: str) -> None:
        self._call("DELETE", f"/discord/guilds/{guild_id}/roles/{role_id}")

    def remove_bot(self, guild_id: str) -> None:
        """Kick the bot out of a server (its managed role goes with it)."""
        self._call("DELETE", f"/discord/guilds/{guild_id}/bot")

    def edit_repo(self, full_name: str, **changes: Any) -> dict[str, Any]:
        """Change a repository as people do on github.com: name, private, archived, description."""
        return self._call("PATCH", f"/github/repos/{full_name}", changes)

    def rename_repo(self, full_name: str, new_name: str) -> dict[str, Any]:
        return self.edit_repo(full_name, name=new_name)

    def make_repo_public(self, full_name: str) -> dict[str, Any]:
        return self.edit_repo(full_name, private=False)

    def delete_repo(self, full_name: str) -> None:
        self._call("DELETE", f"/github/repos/{full_name}")

    def remove_protection(self, full_name: str, branch: str = "main") -> None:
        self._call("DELETE", f"/github/repos/{full_name}/branches/{branch}/protection")

    def accept_discord_invite(self, code: str, username: str) -> dict[str, Any]:
        """A person opens a Discord invite link: they join with its roles
        (``{"guild_id", "user_id", "roles"}``)."""
        return self._call("POST", f"/discord/invites/{code}/accept", {"username": username})

    # -- people on github.com: accepting invitations, blocking the organization, time -------------
    def accept_github_invitation(
        self, org: str, *, invitation_id: int | None = None, login: str | None = None
    ) -> dict[str, Any]:
        """A person accepts an organization invitation (an email one needs their ``login``) or,
        given only ``login``, their pending team membership's invitation."""
        body: dict[str, Any] = {"login": login}
        if invitation_id is not None:
            body["invitation_id"] = invitation_id
        return self._call("POST", f"/github/orgs/{org}/accept", body)

    def block_github_org(self, org: str, login: str) -> None:
        self._call("PUT", f"/github/orgs/{org}/blocked/{login}")

    def add_github_member(self, org: str, login: str) -> None:
        """The person is in the organization already (an earlier course's invitation, accepted):
        adding them to a team answers ``active``, with no invitation."""
        self._call("PUT", f"/github/orgs/{org}/members/{login}")

    def advance_github_clock(self, seconds: float) -> float:
        """Move the GitHub sandbox clock forward (the invitation limit's 24-hour window)."""
        return self._call("POST", "/github/clock", {"seconds": seconds})["offset"]
