"""The API's key fixtures, for the import endpoints."""

from tests.api.conftest import _fresh_throttle, api, api_key, client_for, own_key  # noqa: F401
