from __future__ import annotations

import re

from django.apps import AppConfig
from django.conf import settings

# What DRF's throttles understand: a count, then a period of which only the first letter counts.
RATE_PATTERN = re.compile(r"^[0-9]+/(s|sec|second|m|min|minute|h|hour|d|day)$")


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API"

    def ready(self) -> None:
        # Registers the OpenAPI extensions (security scheme, documented fields).
        from api import schema  # noqa: F401
        from config.env import fail_fast

        for name in ("API_THROTTLE_RATE", "API_AUTH_FAILURE_RATE"):
            rate = getattr(settings, name)
            if rate and not RATE_PATTERN.match(rate):
                # Checked at start-up: DRF would only fail at the first request, with a 500.
                fail_fast(f"{name} is malformed: expected e.g. 600/min, got {rate!r}")
