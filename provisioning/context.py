"""What a step handler gets: the course, its step row, the platform clients, a heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.conf import settings

from courses.models import Course
from integrations.discord.client import DiscordClient
from integrations.github.app import AppCredentials, installation_auth, installation_limit_key
from integrations.github.client import GitHubClient
from integrations.ratelimit import parse_windows, token_key
from provisioning.models import ProvisioningStep


def discord_client(on_wait: Callable[[], None] | None = None) -> DiscordClient:
    return DiscordClient(
        api_url=settings.DISCORD_API_URL,
        token=settings.DISCORD_BOT_TOKEN,
        timeout=settings.INTEGRATIONS_HTTP_TIMEOUT,
        max_wait=settings.PROVISIONING_MAX_INLINE_WAIT_SECONDS,
        safe_retries=settings.INTEGRATIONS_SAFE_RETRIES,
        safe_retry_delay=settings.INTEGRATIONS_SAFE_RETRY_DELAY,
        global_limit=settings.DISCORD_GLOBAL_LIMIT,
        on_wait=on_wait,
    )


def github_limit_key(*, org: str = "") -> str:
    """The rate budget a client for ``org`` spends: the GitHub App's installation on it when
    ``GITHUB_APP_ID`` is set, else the token's, which every organization shares."""
    if settings.GITHUB_APP_ID:
        return installation_limit_key(settings.GITHUB_APP_ID, org or settings.GITHUB_ORG)
    return f"github:{token_key(settings.GITHUB_TOKEN)}"


def github_write_budgets() -> dict[str, str]:
    """Every GitHub rate budget this deployment spends, by a label safe to show (``/metrics``):
    ``token``, or with the GitHub App one per organization, ``GITHUB_ORG``'s and the courses'."""
    if not settings.GITHUB_APP_ID:
        return {"token": github_limit_key()}
    orgs = {settings.GITHUB_ORG.lower()} | set(
        Course.objects.exclude(github_org="").values_list("github_org", flat=True).distinct()
    )
    return {org: github_limit_key(org=org) for org in sorted(orgs - {""})}


def github_client(on_wait: Callable[[], None] | None = None, *, org: str = "") -> GitHubClient:
    """A client for ``org`` (default ``GITHUB_ORG``): as the GitHub App's installation on it when
    ``GITHUB_APP_ID`` is set, with its own budget; else with the token, whose budget every
    organization shares (GitHub counts a token's requests, whatever they touch)."""
    org = org or settings.GITHUB_ORG
    auth = None
    if settings.GITHUB_APP_ID:
        credentials = AppCredentials(settings.GITHUB_APP_ID, settings.GITHUB_APP_PRIVATE_KEY)
        auth = installation_auth(
            credentials=credentials,
            org=org,
            api_url=settings.GITHUB_API_URL,
            timeout=int(settings.INTEGRATIONS_HTTP_TIMEOUT[1]),
        )
    return GitHubClient(
        api_url=settings.GITHUB_API_URL,
        token=settings.GITHUB_TOKEN,
        org=org,
        auth=auth,
        limit_key=github_limit_key(org=org),
        timeout=settings.INTEGRATIONS_HTTP_TIMEOUT[1],
        seconds_between_writes=settings.GITHUB_SECONDS_BETWEEN_WRITES,
        safe_retries=settings.INTEGRATIONS_SAFE_RETRIES,
        safe_retry_delay=settings.INTEGRATIONS_SAFE_RETRY_DELAY,
        write_budget=parse_windows(settings.GITHUB_WRITE_BUDGET),
        max_wait=settings.PROVISIONING_MAX_INLINE_WAIT_SECONDS,
        on_wait=on_wait,
    )


@dataclass
class StepContext:
    course: Course
    step: ProvisioningStep
    heartbeat: Callable[[], None] = lambda: None
    cache: dict[str, Any] = field(default_factory=dict)  # reads shared within one attempt
    progress: int = 0  # resources confirmed during this attempt

    @cached_property
    def discord(self) -> DiscordClient:
        return discord_client(on_wait=self.heartbeat)

    @cached_property
    def github(self) -> GitHubClient:
        return github_client(on_wait=self.heartbeat, org=self.course.github_org)
