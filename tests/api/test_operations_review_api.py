"""Regressions found reviewing the course operations' API: an archived course says so."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_a_course_shows_when_it_was_archived(
    api, platforms, provision, django_capture_on_commit_callbacks
):
    """Otherwise an integrator learns it only from a 409 ("already archived")."""
    platforms.add_servers(1)
    course = provision(name="Algebra")
    assert api.get(f"/courses/{course.id}").json()["archivedAt"] is None

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/courses/{course.id}/archive").status_code == 202
    assert api.get(f"/courses/{course.id}").json()["archivedAt"] is not None
    [listed] = api.get("/courses").json()["results"]
    assert listed["archivedAt"] is not None

    with django_capture_on_commit_callbacks(execute=True):
        assert api.post(f"/courses/{course.id}/unarchive").status_code == 202
    assert api.get(f"/courses/{course.id}").json()["archivedAt"] is None
