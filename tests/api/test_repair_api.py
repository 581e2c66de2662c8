"""POST /courses/{id}/repair: 202 with the REPAIR operation once verify found drift; 409 with
nothing known to repair, and while another operation runs."""

from __future__ import annotations

import pytest

from courses.models import Course
from provisioning.models import ExternalResource
from tests.api.helpers import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha",))
    assert course.status == Course.Status.COMPLETED
    return course


def test_repair_after_drift_then_nothing_left(
    api, laboratory, platforms, django_capture_on_commit_callbacks
):
    url = f"/courses/{laboratory.id}/repair"
    assert_error(api.post(url), 409, contains="Verify it first")
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/courses/{laboratory.id}/verify")
    assert_error(api.post(url), 409, contains="nothing to repair")

    channel = ExternalResource.objects.get(course=laboratory, kind="channel")
    platforms.control.delete_channel(channel.external_id)
    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"/courses/{laboratory.id}/verify")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url)

    assert response.status_code == 202, response.json()
    assert response.json()["kind"] == "REPAIR"
    assert response["Location"].endswith(f"/courses/{laboratory.id}/drift")
    report = api.get(f"/courses/{laboratory.id}/drift").json()
    assert not report["drifted"] and {r["state"] for r in report["resources"]} == {"ok"}
    operations = api.get(f"/courses/{laboratory.id}/operations").json()
    assert (operations[-1]["kind"], operations[-1]["status"]) == ("REPAIR", "COMPLETED")
    assert_error(api.post(url), 409, contains="nothing to repair")


def test_repair_is_409_while_another_operation_runs(api, laboratory):
    laboratory.operations.create(kind="RENAME")
    assert_error(api.post(f"/courses/{laboratory.id}/repair"), 409, contains="busy")


def test_repair_of_an_unknown_course_is_404(api):
    assert_error(api.post("/courses/00000000-0000-0000-0000-000000000000/repair"), 404)
