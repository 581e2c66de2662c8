"""A run that dies after an external effect but before its checkpoint is finished by the next
run without creating anything twice: at every step boundary, and inside every step between a
create call and the record of its answer."""

from __future__ import annotations

import pytest

from courses.models import Course
from provisioning import resources, runner
from provisioning.models import JobExecution
from provisioning.steps import STEPS
from tests.provisioning.helpers import SEEDED_FILES, assert_no_duplicates

pytestmark = pytest.mark.django_db


class SimulatedCrash(BaseException):
    """The process dies here."""


CASES = [(kind, step) for kind, names in STEPS.items() for step in names]


def _course(provision, kind: str) -> Course:
    groups = ("Alpha", "Beta") if kind == Course.Type.LABORATORY else ()
    return provision(name=f"Crash {kind}", type=kind, groups=groups)


def _finish_normally(platforms, course: Course, settings) -> None:
    settings.PROVISIONING_LEASE_SECONDS = 0  # the dead run's claim is stale at once
    result = runner.run_course(course.id)
    course.refresh_from_db()
    assert result.outcome == "COMPLETED"
    assert course.status == Course.Status.COMPLETED
    state = platforms.state()
    assert_no_duplicates(state)
    for repo in state["github"]["repos"].values():
        assert set(repo["files"]) == SEEDED_FILES
    assert JobExecution.objects.filter(course=course, outcome="CRASHED").count() == 1


@pytest.mark.parametrize(("kind", "step_name"), CASES)
def test_crash_after_a_step_before_its_checkpoint(
    platforms, provision, settings, monkeypatch, kind, step_name
):
    platforms.add_servers(1)
    finish = runner._finish_step

    def crash_once(step, status, error):
        if step.name == step_name and status == "COMPLETED":
            monkeypatch.setattr(runner, "_finish_step", finish)
            raise SimulatedCrash(step_name)
        finish(step, status, error)

    monkeypatch.setattr(runner, "_finish_step", crash_once)
    with pytest.raises(SimulatedCrash):
        _course(provision, kind)

    course = Course.objects.get(name=f"Crash {kind}")
    assert course.steps.get(name=step_name).status == "IN_PROGRESS"
    _finish_normally(platforms, course, settings)


@pytest.mark.parametrize(("kind", "step_name"), CASES)
def test_crash_between_a_create_and_its_record(
    platforms, provision, settings, monkeypatch, kind, step_name
):
    platforms.add_servers(1)
    confirm = resources._confirm
    crashed: list[str] = []

    def crash_once(resource, found):
        if not crashed and runner_step(resource) == step_name:
            crashed.append(resource.key)
            raise SimulatedCrash(resource.key)
        confirm(resource, found)

    def runner_step(resource) -> str:
        return resource.course.steps.get(status="IN_PROGRESS").name

    monkeypatch.setattr(resources, "_confirm", crash_once)
    with pytest.raises(SimulatedCrash):
        _course(provision, kind)

    course = Course.objects.get(name=f"Crash {kind}")
    assert course.resources.filter(key=crashed[0], state="intended").exists()
    _finish_normally(platforms, course, settings)
