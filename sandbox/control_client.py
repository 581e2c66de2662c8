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
