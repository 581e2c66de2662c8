"""Placeholder platform: answers 404 everywhere. Replaced by the real fake."""

from typing import Any

from integrations.sandbox.core import Platform
from integrations.sandbox.http import Request, Response


class FakeDiscord(Platform):
    name = "discord"
    prefixes = ("/discord/api/v10",)

    def register_routes(self) -> None:
        pass

    def reset(self, options: dict[str, Any]) -> None:
        self.options = options

    def configure(self, options: dict[str, Any]) -> None:
        self.options.update(options)

    def snapshot(self) -> dict[str, Any]:
        return {}

    def authenticate(self, request: Request) -> Response | None:
        return None

    def error(self, status: int, message: str) -> Response:
        return Response(status, {"message": message})

    def too_many_requests(self, retry_after: float) -> Response:
        return Response(429, {"message": "slow down", "retry_after": retry_after})
