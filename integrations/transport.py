"""What both platform clients share about the wire, written once so the two cannot drift apart.

- :func:`call_repeating`: the client's own quick retry of a call that is safe to repeat.
- :func:`parse_retry_after` and :func:`parse_reset_after`: when the platform says to try again
  (Discord's ``retry_after`` body field, ``Retry-After``, GitHub's ``x-ratelimit-reset``).
- :func:`connection_error`: a failed connection as a typed error; a platform that cannot be
  reached at all (refused, DNS) is :class:`PlatformUnreachableError`, naming the URL and setting.

The Discord client speaks ``requests`` directly and the GitHub client goes through PyGithub (which
uses ``requests`` underneath), so both hand their exceptions and headers here.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from urllib3.exceptions import NewConnectionError

from integrations.errors import (
    IntegrationError,
    PlatformUnreachableError,
    RateLimitedError,
    TransientError,
)

T = TypeVar("T")


def call_repeating(
    call: Callable[[], T],
    *,
    repeatable: bool,
    retries: int,
    delay: float,
    sleep: Callable[[float], None],
) -> T:
    """Make ``call``; if it is safe to repeat, repeat it after a failure up to ``retries`` times.

    Waits ``delay * 2**n`` between tries with ``sleep`` (the client's: it proves the run alive
    first, and tests fake it). A transient failure is repeated; so is a platform that did not
    answer at all, in case it was a blip, but only this quickly: then it is raised as the
    permanent error it is, and the step fails at once instead of backing off for a minute. A rate
    limit is never repeated here: the wait is the rate limiter's business. A call that is not safe
    to repeat (its effect may have happened) goes back to the step handler, which looks first.
    """
    for attempt in range(retries + 1):
        try:
            return call()
        except RateLimitedError:
            raise
        except (TransientError, PlatformUnreachableError):
            if not repeatable or attempt == retries:
                raise
            sleep(delay * 2**attempt)
    raise AssertionError("unreachable: the last try returns or raises")


# -- when to try again -------------------------------------------------------------------------
def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _seconds(value: Any) -> float:
    """A number of seconds; ``ValueError`` when the platform sent something else."""
    try:
        return float(value)
    except TypeError as exc:
        raise ValueError(f"not a number of seconds: {value!r}") from exc


def parse_retry_after(
    headers: Mapping[str, str], body: Any = None, *, minimum: float = 0.0
) -> float | None:
    """The wait the platform asked for: the body's ``retry_after`` (Discord), else the
    ``Retry-After`` header; ``None`` when it asked for none.

    Raises ``ValueError`` when the value is not a number: what to assume then is the caller's.
    """
    value = body.get("retry_after") if isinstance(body, Mapping) else None
    if value is None:
        value = _headers(headers).get("retry-after")
    return None if value is None else max(minimum, _seconds(value))


def parse_reset_after(headers: Mapping[str, str], *, minimum: float = 0.0) -> float | None:
    """Seconds until the budget refills, when ``x-ratelimit-remaining`` says it is spent (GitHub's
    primary limit; ``x-ratelimit-reset`` is an epoch time); ``None`` while requests remain.

    Raises ``ValueError`` when the reset time is not a number.
    """
    lowered = _headers(headers)
    if lowered.get("x-ratelimit-remaining") != "0" or "x-ratelimit-reset" not in lowered:
        return None
    return max(minimum, _seconds(lowered["x-ratelimit-reset"]) - time.time())


# -- failed connections ------------------------------------------------------------------------
def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and everything it wraps: requests wraps urllib3's MaxRetryError, whose ``reason``
    is the NewConnectionError, whose cause is the socket's OSError."""
    pending, seen = [exc], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        wrapped = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        pending += [e for e in [*wrapped, *current.args] if isinstance(e, BaseException)]


def unreachable_reason(exc: BaseException) -> str | None:
    """Why no connection could be made at all ("connection refused", "DNS lookup failed"), or
    ``None`` when the failure came later (a reset, a timeout), which may be a passing fault."""
    causes = list(_causes(exc))
    if not any(isinstance(cause, NewConnectionError) for cause in causes):
        return None
    if any(isinstance(cause, socket.gaierror) for cause in causes):
        return "DNS lookup failed"
    errors = [c.strerror for c in causes if isinstance(c, OSError) and isinstance(c.strerror, str)]
    return errors[0].lower() if errors else "no connection"


@dataclass(frozen=True)
class Endpoint:
    """Where a client sends its requests, and the setting that says so."""

    platform: str  # as people write it: "Discord", "GitHub"
    url: str
    setting: str  # "DISCORD_API_URL"

    @property
    def provider(self) -> str:
        return self.platform.lower()


def connection_error(exc: BaseException, endpoint: Endpoint, *, what: str) -> IntegrationError:
    """The typed error for a request that got no answer.

    A platform that cannot be reached at all is :class:`PlatformUnreachableError` (permanent)
    whose message names the URL tried and the setting to fix; anything else (a dropped
    connection, a timeout) is transient.
    """
    reason = unreachable_reason(exc)
    if reason is None:
        return TransientError(
            f"{what} failed: {exc.__class__.__name__}", provider=endpoint.provider
        )
    if settings.INTEGRATIONS_MODE == "sandbox":
        hint = f"is the sandbox running? Check SANDBOX_URL / {endpoint.setting}."
    else:
        hint = f"check {endpoint.setting} and the network."
    return PlatformUnreachableError(
        f"{endpoint.platform} did not answer at {endpoint.url} ({reason}): {hint}",
        provider=endpoint.provider,
        url=endpoint.url,
        setting=endpoint.setting,
    )
