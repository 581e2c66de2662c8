"""Abuse: wrong keys are throttled per client address, the request throttle keeps counting while
its Redis is down, and the admin's sign-in locks out after repeated failures (django-axes)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from api import throttles
from audit.models import SystemEvent
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_fallback(monkeypatch):
    throttles.FALLBACK.clear()
    monkeypatch.setattr(throttles, "_last_fallback_event", 0.0)
    yield
    throttles.FALLBACK.clear()


def test_wrong_keys_are_throttled_per_client_address(client_for, api_key, settings):
    settings.API_AUTH_FAILURE_RATE = "3/min"
    guesser = client_for("cpk_guess")

    for _ in range(3):
        assert_error(guesser.get("/courses"), 401)
    response = guesser.get("/courses")

    assert_error(response, 429, contains="wrong or revoked API key from this address")
    assert 0 < int(response["Retry-After"]) <= 60
    # The address is stopped whatever it sends next, a right key included...
    assert_error(client_for(api_key.raw).get("/courses"), 429)
    # ...while another address is not.
    other = client_for(api_key.raw)
    assert other.get("/courses", REMOTE_ADDR="10.0.0.2").status_code == 200
    assert_error(client_for("cpk_guess").get("/courses", REMOTE_ADDR="10.0.0.2"), 401)


def test_a_forged_forwarded_for_header_does_not_reset_the_count(client_for, settings):
    settings.API_AUTH_FAILURE_RATE = "2/min"
    guesser = client_for("cpk_guess")

    statuses = [
        guesser.get("/courses", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(4)
    ]

    assert statuses == [401, 401, 429, 429]


def test_right_keys_do_not_count_as_failures(api, settings):
    settings.API_AUTH_FAILURE_RATE = "1/min"
    settings.API_THROTTLE_RATE = ""

    assert all(api.get("/courses").status_code == 200 for _ in range(3))


class _Down:
    def get(self, *args, **kwargs):
        raise ConnectionError("redis is down")

    set = add = get


def test_the_throttle_keeps_counting_in_process_while_redis_is_down(
    api, settings, monkeypatch, caplog
):
    monkeypatch.setattr(throttles, "throttle_cache", lambda: _Down())
    settings.API_THROTTLE_RATE = "2/min"

    statuses = [api.get("/courses").status_code for _ in range(4)]

    assert statuses == [200, 200, 429, 429]
    assert "counting in-process" in caplog.text
    [event] = SystemEvent.objects.filter(kind=SystemEvent.Kind.THROTTLE_STORE_DOWN)  # one, not four
    assert event.severity == SystemEvent.Severity.WARNING
    assert "unreachable" in event.message


def test_failed_authentications_are_counted_while_redis_is_down(client_for, settings, monkeypatch):
    monkeypatch.setattr(throttles, "throttle_cache", lambda: _Down())
    settings.API_AUTH_FAILURE_RATE = "1/min"
    guesser = client_for("cpk_guess")

    assert [guesser.get("/courses").status_code for _ in range(2)] == [401, 429]


def _sign_in(client: Client, password: str) -> int:
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": password}
    )
    return response.status_code


def test_admin_sign_in_locks_out_after_repeated_failures(settings):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("alice", password="right-password-42", is_staff=True)
    browser = Client()

    assert [_sign_in(browser, "wrong") for _ in range(3)] == [200, 200, 429]
    # Locked: the right password does not get in either.
    assert _sign_in(browser, "right-password-42") == 429
    assert "_auth_user_id" not in browser.session


def test_lockouts_are_listed_for_superusers(settings, admin_client, make_user):
    settings.AXES_FAILURE_LIMIT = 2
    get_user_model().objects.create_user("alice", password="right-password-42", is_staff=True)
    for _ in range(2):
        _sign_in(Client(), "wrong")

    page = admin_client.get("/admin/axes/accessattempt/")

    assert page.status_code == 200
    assert "alice" in page.content.decode()
    staff = Client()
    staff.force_login(make_user("staffer", "courses.view_course"))
    assert staff.get("/admin/axes/accessattempt/").status_code == 403


def test_a_right_password_signs_in_before_the_limit(settings):
    settings.AXES_FAILURE_LIMIT = 3
    get_user_model().objects.create_user("alice", password="right-password-42", is_staff=True)
    browser = Client()

    assert _sign_in(browser, "wrong") == 200
    assert _sign_in(browser, "right-password-42") == 302
