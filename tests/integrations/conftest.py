"""Fixtures of the client unit tests: every HTTP request answered by ``responses``, no network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    """Every HTTP request must match a registered answer, and every answer must be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock
