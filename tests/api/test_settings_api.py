"""API settings are checked at start-up (AppConfig.ready, which gunicorn and every command run): a
malformed throttle rate stops the process with its name, instead of a 500 at the first request."""

from __future__ import annotations

import pytest
from django.apps import apps

from api.throttles import ApiKeyRateThrottle


@pytest.mark.parametrize("rate", ["600", "600/fortnight", "many/min", "1/"])
def test_malformed_throttle_rate_fails_fast_naming_it(settings, capsys, rate):
    settings.API_THROTTLE_RATE = rate

    with pytest.raises(SystemExit) as exited:
        apps.get_app_config("api").ready()

    assert exited.value.code == 2
    assert "API_THROTTLE_RATE is malformed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("rate", "limit"),
    [
        ("600/min", (600, 60)),
        ("10/s", (10, 1)),
        ("5000/hour", (5000, 3600)),
        ("1/day", (1, 86400)),
        ("", (None, None)),  # throttling off
    ],
)
def test_valid_throttle_rates_start_and_are_the_throttles_limit(settings, capsys, rate, limit):
    settings.API_THROTTLE_RATE = rate

    apps.get_app_config("api").ready()  # a SystemExit here would fail the test

    assert capsys.readouterr().err == ""
    # What passed the start-up check is what the throttle then enforces: requests per seconds.
    throttle = ApiKeyRateThrottle()
    assert (throttle.num_requests, throttle.duration) == limit
