"""Fake Discord and GitHub servers, faithful to the documented behaviour, for the demo and tests.

- ``core``: the dispatcher, fault injection and request log shared by both platforms.
- ``discord`` / ``github``: the fake platforms.
- ``control``: ``/_sandbox`` endpoints (reset, staff-made servers, organizations, faults, state).
- ``server``: serving it over HTTP; ``control_client``: a small Python client of ``/_sandbox``.
"""
