"""Fixtures shared by the whole suite: the sandbox served over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integrations.sandbox.control_client import SandboxControl
from integrations.sandbox.server import RunningSandbox


@pytest.fixture(scope="session")
def running_sandbox() -> Iterator[RunningSandbox]:
    with RunningSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: RunningSandbox) -> RunningSandbox:
    """The sandbox, reset to empty before the test."""
    running_sandbox.sandbox.reset()
    return running_sandbox


@pytest.fixture
def sandbox_control(sandbox: RunningSandbox) -> SandboxControl:
    return SandboxControl(sandbox.url)
