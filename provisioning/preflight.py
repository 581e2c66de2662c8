"""Is the platform ready to provision? Each check says ``ok`` or what to do.

``manage.py preflight`` and the admin's home page show the same checks: Discord answers, the bot
token is valid, ``DISCORD_APPLICATION_ID`` is the bot's application (the invite links carry it);
GitHub answers, the token is valid and an owner of ``GITHUB_ORG``, the organization's plan
allows branch protection on private repositories; the pool holds at least
``POOL_LOW_WATERMARK`` available servers. Nothing here writes to either platform.

A check that cannot run because an earlier one failed (no token check when Discord does not
answer) is ``skipped``. ``warn`` passes with a caution: a pool running low, or a Free plan whose
protection the operator chose to skip, must not block a deployment script.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache

from integrations.discord.client import DiscordClient
from integrations.errors import IntegrationError, NotFoundError, TransientError
from integrations.github.client import GitHubClient
from integrations.ratelimit import parse_windows
from provisioning.context import github_client
from provisioning.pool import discord_server_counts, pool_refill_hint

logger = logging.getLogger(__name__)

OK, WARN, FAIL, SKIPPED = "ok", "warn", "fail", "skipped"
# The admin's home page shows the last result for this long, so that loading it stays fast and
# a platform that is down is not asked again on every page view.
CACHE_KEY = "provisioning:preflight"
CACHE_SECONDS = 60
# Short waits and no client retries: an answer in seconds matters more here than riding out a
# hiccup (running the checks again is cheap).
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 10.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN, FAIL or SKIPPED
    message: str  # what was found, or what to do

    @property
    def passed(self) -> bool:
        return self.status in (OK, WARN)


def preflight_run() -> list[Check]:
    """Run every check now (a few GET requests to each platform, audited like any call)."""
    checks: list[Check] = []
    for group in (_discord_checks, _github_checks, _pool_checks):
        checks.extend(_guarded(group))
    return checks


def preflight_passed(checks: list[Check]) -> bool:
    return all(check.passed for check in checks)


_refreshing = threading.Lock()


def preflight_cached(*, fresh: bool = False) -> list[Check]:
    """The last result younger than ``CACHE_SECONDS``, or a fresh one (the admin's home).

    One refresh at a time per process: pages loaded meanwhile wait for it instead of each
    asking Discord and GitHub again.
    """
    stored = None if fresh else cache.get(CACHE_KEY)
    if stored is None:
        with _refreshing:
            stored = None if fresh else cache.get(CACHE_KEY)
            if stored is None:
                stored = [asdict(check) for check in preflight_run()]
                cache.set(CACHE_KEY, stored, CACHE_SECONDS)
    return [Check(**item) for item in stored]


def preflight_as_json(checks: list[Check]) -> dict[str, Any]:
    return {"passed": preflight_passed(checks), "checks": [asdict(check) for check in checks]}


def _guarded(group: Callable[[], Iterator[Check]]) -> list[Check]:
    """A group's checks; an unexpected error becomes a failed check, never an exception (the
    admin's home page must load whatever the platforms answer)."""
    done: list[Check] = []
    try:
        done.extend(group())
    except Exception as exc:
        logger.exception("preflight check crashed")
        done.append(Check(group.__name__.strip("_"), FAIL, f"unexpected error: {exc!r}"))
    return done


# -- Discord ------------------------------------------------------------------------------------
def _discord_checks() -> Iterator[Check]:
    url = settings.DISCORD_API_URL
    if not settings.DISCORD_BOT_TOKEN:
        yield Check("Discord API", SKIPPED, "not asked: no bot token")
        yield Check("Discord bot token", FAIL, "set DISCORD_BOT_TOKEN to your Discord bot's token")
        yield Check("Discord application id", SKIPPED, "needs a valid bot token")
        return
    client = DiscordClient(
        api_url=url,
        token=settings.DISCORD_BOT_TOKEN,
        timeout=_timeout(),
        max_wait=2.0,
        safe_retries=0,
        global_limit=settings.DISCORD_GLOBAL_LIMIT,
    )
    try:
        bot = client.get_current_user()
    except IntegrationError as exc:
        if _no_answer(exc):
            yield Check("Discord API", FAIL, _unreachable(exc, url, "DISCORD_API_URL"))
            yield Check("Discord bot token", SKIPPED, "needs an answer from Discord")
            yield Check("Discord application id", SKIPPED, "needs an answer from Discord")
        else:  # it answered: the token was refused
            yield Check("Discord API", OK, f"answers at {url}")
            yield Check("Discord bot token", FAIL, str(exc))
            yield Check("Discord application id", SKIPPED, "needs a valid bot token")
        return
    yield Check("Discord API", OK, f"answers at {url}")
    yield Check("Discord bot token", OK, f"valid: the bot is {bot.get('username')} ({bot['id']})")
    yield _application_check(client)


def _application_check(client: DiscordClient) -> Check:
    name = "Discord application id"
    try:
        application_id = str(client.get_current_application()["id"])
    except IntegrationError as exc:
        return Check(name, FAIL, f"could not read the bot's application: {exc}")
    configured = settings.DISCORD_APPLICATION_ID
    if not configured:
        return Check(
            name,
            FAIL,
            f"set DISCORD_APPLICATION_ID={application_id} (the bot's application): the invite "
            "links need it",
        )
    if configured != application_id:
        return Check(
            name,
            FAIL,
            f"DISCORD_APPLICATION_ID is {configured} but the bot's application is "
            f"{application_id}: set DISCORD_APPLICATION_ID={application_id}, or the invite links "
            "add another application",
        )
    return Check(name, OK, f"{application_id}, the bot's application")


# -- GitHub -------------------------------------------------------------------------------------
def _github_checks() -> Iterator[Check]:
    url, org = settings.GITHUB_API_URL, settings.GITHUB_ORG
    if settings.GITHUB_APP_ID:
        yield from _github_app_checks(url, org)
        return
    if not settings.GITHUB_TOKEN:
        yield Check("GitHub API", SKIPPED, "not asked: no token")
        yield Check("GitHub token", FAIL, f"set GITHUB_TOKEN to a token with admin rights on {org}")
        yield from _skipped_org_checks("needs a valid token")
        return
    client = GitHubClient(
        api_url=url,
        token=settings.GITHUB_TOKEN,
        org=org,
        timeout=READ_TIMEOUT,
        safe_retries=0,
        max_wait=2.0,
        write_budget=parse_windows(settings.GITHUB_WRITE_BUDGET),
    )
    try:
        login = client.get_authenticated_user()["login"]
    except IntegrationError as exc:
        if _no_answer(exc):
            yield Check("GitHub API", FAIL, _unreachable(exc, url, "GITHUB_API_URL"))
            yield Check("GitHub token", SKIPPED, "needs an answer from GitHub")
            yield from _skipped_org_checks("needs an answer from GitHub")
        else:  # it answered: the token was refused
            yield Check("GitHub API", OK, f"answers at {url}")
            yield Check("GitHub token", FAIL, str(exc))
            yield from _skipped_org_checks("needs a valid token")
        return
    yield Check("GitHub API", OK, f"answers at {url}")
    yield Check("GitHub token", OK, f"valid: the token is {login}'s")
    if not org:
        yield Check("GitHub organization", FAIL, "set GITHUB_ORG to the courses' organization")
        yield Check("GitHub plan", SKIPPED, "needs GITHUB_ORG")
        return
    owner = _membership_check(client, login, org)
    yield owner
    yield (
        _plan_check(client, org)
        if owner.passed
        else Check("GitHub plan", SKIPPED, f"only {org}'s owners can see its plan")
    )


def _github_app_checks(url: str, org: str) -> Iterator[Check]:
    """As a GitHub App: its installation on GITHUB_ORG gives a token that reads the org."""
    name = "GitHub App"
    try:
        github_client(org=org).get_org()
    except IntegrationError as exc:
        if _no_answer(exc):
            yield Check("GitHub API", FAIL, _unreachable(exc, url, "GITHUB_API_URL"))
            yield Check(name, SKIPPED, "needs an answer from GitHub")
        else:
            yield Check("GitHub API", OK, f"answers at {url}")
            yield Check(name, FAIL, str(exc))
        yield from _skipped_org_checks("needs the app's installation")
        return
    yield Check("GitHub API", OK, f"answers at {url}")
    yield Check(name, OK, f"app {settings.GITHUB_APP_ID} is installed on {org}")
    yield Check("GitHub organization", OK, f"{org}, through the app's installation")
    yield _plan_check(github_client(org=org), org)


def _skipped_org_checks(reason: str) -> Iterator[Check]:
    yield Check("GitHub organization", SKIPPED, reason)
    yield Check("GitHub plan", SKIPPED, reason)


def _membership_check(client: GitHubClient, login: str, org: str) -> Check:
    name = "GitHub organization"
    try:
        membership = client.get_org_membership()
    except NotFoundError:
        return Check(
            name,
            FAIL,
            f"{login} is not a member of {org}, or {org} does not exist: check GITHUB_ORG, and "
            f"make {login} an owner of {org} (or use an owner's token)",
        )
    except IntegrationError as exc:
        return Check(name, FAIL, f"could not read {login}'s membership of {org}: {exc}")
    if membership.get("state") != "active":
        return Check(
            name, FAIL, f"{login}'s invitation to {org} is pending: accept it on github.com"
        )
    if membership.get("role") != "admin":
        return Check(
            name,
            FAIL,
            f"{login} is a {membership.get('role')} of {org}, not an owner: make it an owner "
            "(organization settings, People, Change role) or use an owner's token",
        )
    return Check(name, OK, f"{login} is an owner of {org}")


def _plan_check(client: GitHubClient, org: str) -> Check:
    name = "GitHub plan"
    try:
        plan = (client.get_org().get("plan") or {}).get("name")
    except IntegrationError as exc:
        return Check(name, FAIL, f"could not read {org}: {exc}")
    if not plan:
        return Check(
            name,
            WARN,
            f"GitHub does not show {org}'s plan to this token: check that it is GitHub Team or "
            "better, which branch protection on private repositories needs",
        )
    if plan != "free":
        return Check(name, OK, f"{plan}: branch protection on private repositories is available")
    if settings.PROVISIONING_SKIP_UNAVAILABLE_PROTECTION:
        return Check(
            name,
            WARN,
            f"{org} is on the Free plan: repositories will be made without branch protection "
            "(PROVISIONING_SKIP_UNAVAILABLE_PROTECTION=true); upgrade to GitHub Team, free for "
            "verified educators through GitHub Education, to protect them",
        )
    return Check(
        name,
        FAIL,
        f"{org} is on the Free plan, which refuses branch protection on private repositories: "
        "upgrade it to GitHub Team (free for verified educators through GitHub Education), or "
        "set PROVISIONING_SKIP_UNAVAILABLE_PROTECTION=true to make repositories unprotected",
    )


# -- the pool -----------------------------------------------------------------------------------
def _pool_checks() -> Iterator[Check]:
    counts = discord_server_counts()
    watermark = settings.POOL_LOW_WATERMARK
    found = f"{counts.available} available, {counts.claimed} claimed"
    if counts.available >= watermark:
        yield Check("Discord server pool", OK, f"{found} (POOL_LOW_WATERMARK={watermark})")
        return
    status = FAIL if counts.available == 0 else WARN
    yield Check(
        "Discord server pool",
        status,
        f"{found}, below POOL_LOW_WATERMARK={watermark}: {pool_refill_hint()}",
    )


def _no_answer(exc: IntegrationError) -> bool:
    """No usable answer: no connection (no HTTP status), a timeout, a 5xx, a rate limit."""
    return exc.status is None or isinstance(exc, TransientError)


def _unreachable(exc: IntegrationError, url: str, setting: str) -> str:
    message = str(exc)
    if setting in message:  # the client already says what to check
        return message
    return f"no usable answer from {url} ({message}): check {setting}, or try again later"


def _timeout() -> tuple[float, float]:
    connect, read = settings.INTEGRATIONS_HTTP_TIMEOUT
    return min(connect, CONNECT_TIMEOUT), min(read, READ_TIMEOUT)
