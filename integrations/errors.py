"""Errors of the platform clients, typed by what the caller should do about them.

``permanent`` decides retry vs. give up (the healthchecks habit): a permanent error will fail the
same way next time (bad credentials, missing permission, plan limit, a name owned by a stranger),
so the step fails at once with a message that tells the operator what to do. A transient one (429,
5xx, timeout, connection reset) is retried with backoff, no sooner than ``retry_after``.
"""

from __future__ import annotations


class IntegrationError(Exception):
    permanent: bool = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.code = code
        self.retry_after = retry_after


class PermanentError(IntegrationError):
    permanent = True


class NotFoundError(PermanentError):
    """The object does not exist (or the credentials may not see it)."""


class ConflictError(PermanentError):
    """The name is taken by something that is not ours."""


class PlatformUnreachableError(PermanentError):
    """No connection could be made at all (refused, DNS): a wrong URL or a platform that is down.

    Backing off for a minute would only hide it, so the client repeats a repeatable call quickly
    (a blip) and then the step fails at once. ``url`` is the address tried and ``setting`` the
    setting that gives it, both named in the message.
    """

    def __init__(self, message: str, *, provider: str = "", url: str, setting: str) -> None:
        super().__init__(message, provider=provider)
        self.url = url
        self.setting = setting


class TransientError(IntegrationError):
    permanent = False


class RateLimitedError(TransientError):
    """The platform asked us to slow down; ``retry_after`` says for how long."""
