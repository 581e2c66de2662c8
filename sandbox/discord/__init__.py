"""Fake Discord REST API v10, as a provisioning bot sees it.

- ``platform``: :class:`FakeDiscord`, the routes, authentication and rate limits;
- ``guilds`` / ``channels``: the handlers; ``state``: the objects in memory;
- ``names``: :func:`normalize_channel_name`, Discord's rewriting of text channel names;
- ``schema``: :func:`validate_request_body`, request bodies against Discord's OpenAPI description;
- ``permissions``: permission bits and how Discord computes them; ``ratelimit``: buckets, 429s.
"""

from sandbox.discord.names import normalize_channel_name
from sandbox.discord.platform import FakeDiscord
from sandbox.discord.schema import validate_request_body

__all__ = ["FakeDiscord", "normalize_channel_name", "validate_request_body"]
