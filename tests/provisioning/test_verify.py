"""Verify (drift detection): reads only, at most one per resource, and exactly what drifted."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import SystemEvent
from courses.models import Course
from provisioning.models import ExternalResource, Operation
from provisioning.operations import OperationBusyError
from provisioning.services import provisioning_retry
from provisioning.verify import course_verify, drift_report_latest

pytestmark = pytest.mark.django_db

ORG = "test-university"


@pytest.fixture
def laboratory(platforms, provision) -> Course:
    platforms.add_servers(1)
    course = provision(name="Systems", type="LABORATORY", groups=("Alpha", "Beta", "Gamma"))
    assert course.status == Course.Status.COMPLETED
    return course


def _resource(course: Course, kind: str, key: str) -> ExternalResource:
    return ExternalResource.objects.get(course=course, kind=kind, key=key)


def _not_ok(report) -> dict[tuple[str, str], dict]:
    return {(r["kind"], r["key"]): r for r in report.resources if r["state"] != "ok"}


def test_verify_of_an_untouched_laboratory_reads_once_per_resource_and_finds_all_ok(
    laboratory, platforms, on_commit
):
    seen = len(platforms.control.requests())
    with on_commit():
        operation = course_verify(course=laboratory)

    operation.refresh_from_db()
    laboratory.refresh_from_db()
    assert (operation.kind, operation.status) == ("VERIFY", "COMPLETED")
    assert laboratory.status == Course.Status.COMPLETED
    calls = platforms.control.requests(since=seen)
    assert {c["method"] for c in calls} == {"GET"}
    checked = ExternalResource.objects.filter(
        course=laboratory,
        state="confirmed",
        kind__in=("server", "role", "channel", "repository", "protection"),
    )
    assert len(calls) <= checked.count()
    # One listing serves every channel, one every role; no GET path is read twice.
    assert [p for p, n in Counter(c["path"] for c in calls).items() if n > 1] == []
    assert sum(c["path"].endswith("/channels") for c in calls) == 1
    assert sum(c["path"].endswith("/roles") for c in calls) == 1
    report = drift_report_latest(course=laboratory)
    assert report is not None and report.operation == operation and not report.drifted
    assert len(report.resources) == checked.count() == 1 + 3 * 4
    assert {r["state"] for r in report.resources} == {"ok"}
    assert not SystemEvent.objects.filter(kind=SystemEvent.Kind.DRIFT_DETECTED).exists()


def test_verify_reports_exactly_the_five_drifts_made_by_hand(laboratory, platforms, on_commit):
    control = platforms.control
    group1 = _resource(laboratory, "channel", "group-1-alpha")
    group2 = _resource(laboratory, "channel", "group-2-beta")
    role2 = _resource(laboratory, "role", "group-2")
    repos = sorted(
        ExternalResource.objects.filter(course=laboratory, kind="repository"),
        key=lambda r: r.key,
    )
    control.delete_channel(group1.external_id)
    control.drop_overwrite(group2.external_id, role2.external_id)
    control.remove_protection(f"{ORG}/{repos[0].key}")
    control.rename_repo(f"{ORG}/{repos[1].key}", "renamed-by-hand")
    control.make_repo_public(f"{ORG}/{repos[2].key}")
    seen = len(control.requests())

    with on_commit():
        course_verify(course=laboratory)

    assert {c["method"] for c in control.requests(since=seen)} == {"GET"}
    report = drift_report_latest(course=laboratory)
    assert report.drifted
    drift = _not_ok(report)
    assert set(drift) == {
        ("channel", group1.key),
        ("channel", group2.key),
        ("protection", repos[0].key),
        ("repository", repos[1].key),
        ("repository", repos[2].key),
    }
    assert drift[("channel", group1.key)]["state"] == "missing"
    overwrites = drift[("channel", group2.key)]
    assert overwrites["state"] == "changed" and set(overwrites["differences"]) == {"overwrites"}
    assert drift[("protection", repos[0].key)]["state"] == "missing"
    renamed = drift[("repository", repos[1].key)]
    assert renamed["differences"] == {
        "name": {"expected": repos[1].key, "actual": "renamed-by-hand"}
    }
    public = drift[("repository", repos[2].key)]
    assert public["differences"] == {"private": {"expected": True, "actual": False}}
    event = SystemEvent.objects.get(kind=SystemEvent.Kind.DRIFT_DETECTED)
    assert event.course_id == laboratory.id and len(event.data["drifted"]) == 5


def test_verify_is_refused_while_another_operation_runs(laboratory):
    Operation.objects.create(course=laboratory, kind=Operation.Kind.RENAME)
    with pytest.raises(OperationBusyError):
        course_verify(course=laboratory)
    assert not laboratory.operations.filter(kind="VERIFY").exists()


# transaction=True: the service enqueues on commit, which a test inside a transaction never reaches.
@pytest.mark.django_db(transaction=True)
def test_cli_verify_json_and_exit_code(laboratory, platforms, capsys):
    call_command("course", "verify", str(laboratory.id), "--json", "--timeout", "60")
    clean = json.loads(capsys.readouterr().out)
    assert clean["courseId"] == str(laboratory.id) and clean["checkedAt"]
    assert {r["state"] for r in clean["resources"]} == {"ok"}
    assert set(clean["resources"][0]) == {"provider", "kind", "key", "state", "differences"}

    channel = _resource(laboratory, "channel", "group-3-gamma")
    platforms.control.delete_channel(channel.external_id)
    with pytest.raises(CommandError) as exc:
        call_command("course", "verify", str(laboratory.id), "--json", "--timeout", "60")
    assert exc.value.returncode == 1
    drifted = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["state"]) for r in drifted["resources"] if r["state"] != "ok"] == [
        ("group-3-gamma", "missing")
    ]


def test_cli_verify_of_an_unknown_course_is_a_clear_error():
    with pytest.raises(CommandError, match="No course"):
        call_command("course", "verify", "not-a-uuid")


def test_a_verify_that_fails_leaves_the_course_completed_and_is_not_run_again(
    laboratory, platforms, on_commit, settings
):
    """A check that could not read changed nothing: the course stays COMPLETED (a scheduled
    verify during an outage must not turn every course FAILED), and the next operation does not
    start by running the failed check again."""
    reachable = settings.GITHUB_API_URL
    settings.GITHUB_API_URL = "http://127.0.0.1:9"  # nothing listens: unreachable
    with on_commit():
        failed = course_verify(course=laboratory)

    failed.refresh_from_db()
    laboratory.refresh_from_db()
    assert failed.status == Operation.Status.FAILED
    assert laboratory.status == Course.Status.COMPLETED
    assert drift_report_latest(course=laboratory) is None

    settings.GITHUB_API_URL = reachable
    with on_commit():
        again = course_verify(course=laboratory)

    again.refresh_from_db()
    failed.refresh_from_db()
    assert again.status == Operation.Status.COMPLETED
    assert failed.status == Operation.Status.FAILED  # final: asking again is a new verify
    assert failed.steps.get().attempts == 1
    report = drift_report_latest(course=laboratory)
    assert report is not None and not report.drifted


def test_retrying_a_failed_course_does_not_run_its_failed_verify_again(laboratory):
    """A failed check is final: a later retry of the course resets the steps that changed
    something, not the verify that could not read."""
    verify = Operation.objects.create(
        course=laboratory, kind=Operation.Kind.VERIFY, status=Operation.Status.FAILED
    )
    check = verify.steps.create(course=laboratory, name="VERIFY_RESOURCES", order=90)
    check.status = "FAILED"
    check.save()
    step = laboratory.steps.exclude(operation=verify).first()
    assert step is not None
    step.status = "FAILED"
    step.save()
    Course.objects.filter(id=laboratory.id).update(status=Course.Status.FAILED)

    provisioning_retry(course=laboratory)

    check.refresh_from_db()
    step.refresh_from_db()
    assert (check.status, step.status) == ("FAILED", "PENDING")
