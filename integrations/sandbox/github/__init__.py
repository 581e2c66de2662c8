"""Fake GitHub REST API (placeholder until the fake is written)."""

from integrations.sandbox.github.platform import FakeGitHub

__all__ = ["FakeGitHub"]
