"""API test fixtures: keys, clients sending them, and a clean throttle for every test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.models import ApiKey
from api.services import api_key_create


@dataclass
class Key:
    model: ApiKey
    raw: str


@pytest.fixture(autouse=True)
def _fresh_throttle() -> Iterator[None]:
    """Throttle counts live in the cache, which outlives the test's database transaction."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_key(db) -> Key:
    """An admin key: most tests read courses made by the service or factories, which no key owns.
    What a plain key may see is tested with ``own_key`` (test_ownership.py)."""
    model, raw = api_key_create(name="LMS", is_admin=True)
    return Key(model, raw)


@pytest.fixture
def own_key(db) -> Key:
    """A plain key: it sees and acts on the courses it created, only."""
    model, raw = api_key_create(name="Moodle")
    return Key(model, raw)


@pytest.fixture
def client_for():
    """``client_for(raw_key)``: an API client sending that key."""

    def make(raw_key: str | None) -> APIClient:
        client = APIClient()
        if raw_key is not None:
            client.credentials(HTTP_X_API_KEY=raw_key)
        return client

    return make


@pytest.fixture
def api(api_key: Key, client_for) -> APIClient:
    """A client authenticated with a fresh API key."""
    return client_for(api_key.raw)


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()
