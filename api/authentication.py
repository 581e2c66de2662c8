"""``x-api-key`` authentication, and who a request acts for."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from api.models import ApiKey
from api.services import InvalidApiKey, api_key_authenticate

HEADER = "x-api-key"


class ApiClient:
    """``request.user`` for a request made with an API key: an integrator, not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key

    def __str__(self) -> str:
        return f"API key {self.api_key}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate by the ``x-api-key`` header.

    Without the header this returns ``None``, so that the next class (the admin's session) may
    authenticate staff browsing /api/docs. With a wrong or revoked key the request fails: a client
    that sent a key expects it to be used, not silently replaced by a cookie.
    """

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        raw_key = request.headers.get(HEADER)
        if raw_key is None:
            return None
        # Imported here: the throttles module asks this one who a request acts for.
        from api.exceptions import TooManyFailedAuthentications
        from api.throttles import FailedAuthThrottle

        # Checked before the lookup: an address guessing keys is stopped, right or wrong.
        failures = FailedAuthThrottle()
        wait = failures.blocked(request)
        if wait is not None:
            raise TooManyFailedAuthentications(wait)
        try:
            api_key = api_key_authenticate(raw_key=raw_key.strip())
        except InvalidApiKey as exc:
            failures.record_failure(request)
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return ApiClient(api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials were given.
        return f'ApiKey header="{HEADER}"'


def request_api_key(request: Any) -> ApiKey | None:
    """The API key a request was made with, or ``None`` (a staff session)."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiKey) else None


def request_owner(request: Any) -> str:
    """Who a request acts for, as stored with its idempotency records and used by throttling."""
    api_key = request_api_key(request)
    if api_key is not None:
        return f"key:{api_key.pk}"
    return f"user:{request.user.pk}"
