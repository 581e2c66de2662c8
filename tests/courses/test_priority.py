"""A course's priority: high, normal (the default) or low, from every way of creating one."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from courses.models import Course
from courses.services import course_create
from provisioning.services import provisioning_send
from tests.api.conftest import api, api_key, client_for  # noqa: F401

pytestmark = pytest.mark.django_db


def test_default_is_normal_and_others_are_kept():
    assert course_create(name="A", semester="2026-fall", type="LECTURE").priority == "normal"
    course = course_create(name="B", semester="2026-fall", type="LECTURE", priority="high")
    assert Course.objects.get(id=course.id).priority == "high"


def test_unknown_priority_is_refused():
    with pytest.raises(ValidationError) as caught:
        course_create(name="A", semester="2026-fall", type="LECTURE", priority="urgent")
    assert "priority" in caught.value.message_dict
    assert not Course.objects.exists()


def test_api_takes_and_shows_priority(api):  # noqa: F811
    body = {"name": "Algorithms", "semester": "2026-fall", "type": "LECTURE", "priority": "low"}
    response = api.post("/courses", body, format="json")
    assert response.status_code == 202
    assert response.json()["priority"] == "low"
    response = api.post("/courses", {**body, "name": "X", "priority": "urgent"}, format="json")
    assert response.status_code == 400
    assert response.json()["details"]["priority"] == ["Choose one of high, normal, low."]
    omitted = {"name": "Y", "semester": "2026-fall", "type": "LECTURE"}
    assert api.post("/courses", omitted, format="json").json()["priority"] == "normal"


@pytest.mark.django_db(transaction=True)  # the command waits for the run, started on commit
def test_cli_takes_priority(platforms):
    platforms.add_servers(1)
    out = StringIO()
    args = ["--name", "Algorithms", "--semester", "2026-fall", "--type", "lecture"]
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("provision_course", *args, "--priority", "urgent")
    call_command("provision_course", *args, "--priority", "high", "--json", stdout=out)
    assert Course.objects.get().priority == "high"


def test_admin_form_takes_priority(staff_client):
    data = {
        "name": "Algorithms",
        "semester": "2026-fall",
        "type": "LECTURE",
        "priority": "high",
        "discord_guild_id": "",
        "lab_groups-TOTAL_FORMS": "0",
        "lab_groups-INITIAL_FORMS": "0",
        "lab_groups-MIN_NUM_FORMS": "0",
        "lab_groups-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    response = staff_client.post(reverse("admin:courses_course_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Course.objects.get().priority == "high"


@pytest.mark.parametrize(("priority", "hint"), [("high", 0), ("normal", 3), ("low", 6)])
def test_the_broker_gets_a_priority_hint(settings, priority, hint):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    with (
        mock.patch("provisioning.services.execution_mode", return_value="celery"),
        mock.patch("provisioning.services.celery_app.send_task") as send,
    ):
        provisioning_send(course_id="c", priority=priority)
    assert send.call_args.kwargs["priority"] == hint
