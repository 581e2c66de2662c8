"""The API's key fixtures, for the import endpoints, and the import.completed events emitted."""

import pytest

from tests.api.conftest import _fresh_throttle, api, api_key, client_for, own_key  # noqa: F401
from webhooks.services import webhook_event_emit


@pytest.fixture
def emitted(monkeypatch) -> list[dict]:
    """The import.completed events emitted (the webhooks app's own events go on as usual)."""
    calls: list[dict] = []
    emit = webhook_event_emit

    def record(**kwargs):
        if kwargs["type"] == "import.completed":
            calls.append(kwargs)
            return None
        return emit(**kwargs)

    monkeypatch.setattr("webhooks.services.webhook_event_emit", record)
    return calls
