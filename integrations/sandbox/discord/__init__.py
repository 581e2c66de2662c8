"""Fake Discord REST API v10 (placeholder until the fake is written)."""

from integrations.sandbox.discord.platform import FakeDiscord

__all__ = ["FakeDiscord"]
