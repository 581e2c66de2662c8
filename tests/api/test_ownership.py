"""Courses belong to the key that created them: another key gets 404 (ids do not leak); an admin
key sees all. A retry counts against the cap of the course's owner, whoever asks for it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from api.models import ApiKey
from courses.models import Course
from tests.api.helpers import assert_error, lecture_body
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

PATHS = ("/courses/{id}", "/courses/{id}/status", "/courses/{id}/resources", "/courses/{id}/audit")


def _create(client, **overrides) -> str:
    response = client.post("/courses", lecture_body(**overrides), format="json")
    assert response.status_code == 202, response.json()
    return response.json()["id"]


def test_a_key_sees_only_its_own_courses(own_key, client_for):
    from api.services import api_key_create

    _, other_raw = api_key_create(name="Other LMS")
    mine, theirs = client_for(own_key.raw), client_for(other_raw)
    my_id = _create(mine, name="Mine")
    their_id = _create(theirs, name="Theirs")
    CourseFactory(name="Admin-made")  # no key made it: no plain key sees it

    listed = mine.get("/courses").json()
    assert [course["id"] for course in listed["results"]] == [my_id]
    assert listed["count"] == 1
    for path in PATHS:
        assert mine.get(path.format(id=my_id)).status_code == 200
        body = assert_error(mine.get(path.format(id=their_id)), 404)
        assert "Theirs" not in str(body)


def test_a_clash_with_another_keys_course_names_neither_its_id_nor_its_name(
    own_key, client_for, platforms
):
    from api.services import api_key_create

    _, other_raw = api_key_create(name="Other LMS")
    mine, theirs = client_for(own_key.raw), client_for(other_raw)
    their_id = _create(theirs, name="Secret Seminar")
    [guild_id] = platforms.add_servers(1)
    _create(theirs, name="Holds a server", discordGuildId=guild_id)

    for body in (
        lecture_body(name="secret seminar!"),  # same repository
        lecture_body(name="Mine", discordGuildId=guild_id),  # same server
    ):
        refused = assert_error(mine.post("/courses", body, format="json"), 409)
        assert their_id not in str(refused) and "Secret" not in str(refused)
        assert not refused["details"]

    # The owner itself, or an admin key, is told which course it is.
    again = assert_error(
        theirs.post("/courses", lecture_body(name="Secret seminar?"), format="json"), 409
    )
    assert again["details"] == {"existingId": their_id}


def test_another_keys_course_cannot_be_retried(own_key, client_for):
    from api.services import api_key_create

    _, other_raw = api_key_create(name="Other LMS")
    course = CourseFactory(status=Course.Status.FAILED, created_by_key=own_key.model)

    assert_error(client_for(other_raw).post(f"/courses/{course.id}/retry"), 404)
    course.refresh_from_db()
    assert course.status == Course.Status.FAILED


def test_an_admin_key_sees_every_course(own_key, client_for, api):
    their_id = _create(client_for(own_key.raw))
    admin_made = CourseFactory(name="Admin-made")

    ids = {course["id"] for course in api.get("/courses").json()["results"]}

    assert ids == {their_id, str(admin_made.id)}
    assert api.get(f"/courses/{their_id}/audit").status_code == 200


def test_retry_counts_against_the_owners_cap_and_is_429_past_it(own_key, client_for, api, settings):
    settings.API_MAX_ACTIVE_COURSES_PER_KEY = 2
    owner = client_for(own_key.raw)
    failed = [
        CourseFactory(name=f"Failed {n}", status=Course.Status.FAILED, created_by_key=own_key.model)
        for n in range(3)
    ]
    for course in failed:
        course.steps.create(name="SETUP_DISCORD_SERVER", order=1, status="FAILED")
    _create(owner, name="Active 1")
    _create(owner, name="Active 2")

    # The owner is at its cap: its own retry is refused, and so is an admin key's for it.
    for client in (owner, api):
        response = client.post(f"/courses/{failed[0].id}/retry")
        assert_error(response, 429, contains="Active courses limit reached")
        assert "at most 2" in response.json()["message"]
    failed[0].refresh_from_db()
    assert failed[0].status == Course.Status.FAILED  # nothing was reset

    Course.objects.filter(name="Active 1").update(status=Course.Status.COMPLETED)
    assert owner.post(f"/courses/{failed[0].id}/retry").status_code == 202
    assert_error(owner.post(f"/courses/{failed[1].id}/retry"), 429)


def test_create_api_key_admin_flag():
    out, err = StringIO(), StringIO()

    call_command("create_api_key", "Registrar", "--admin", stdout=out, stderr=err)

    assert ApiKey.objects.get(name="Registrar").is_admin
    assert "admin API key" in err.getvalue()
    call_command("create_api_key", "Plain", stdout=StringIO(), stderr=StringIO())
    assert not ApiKey.objects.get(name="Plain").is_admin


def test_admin_key_flag_is_set_in_the_admin(admin_client):
    response = admin_client.post("/admin/api/apikey/add/", {"name": "Registrar", "is_admin": "on"})

    assert response.status_code == 200  # the page showing the key once
    assert ApiKey.objects.get(name="Registrar").is_admin
    key = ApiKey.objects.get(name="Registrar")
    response = admin_client.post(f"/admin/api/apikey/{key.pk}/change/", {"name": "Registrar"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert not key.is_admin  # unticked in the change form
