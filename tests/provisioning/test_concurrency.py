"""Races: two courses never claim the same pool server; two runs of a course never both run."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from provisioning import runner
from provisioning.models import DiscordServer, JobExecution
from provisioning.pool import discord_server_bind
from provisioning.services import provisioning_plan
from tests.factories import CourseFactory, DiscordServerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(function, *args):
    try:
        return function(*args)
    finally:
        connection.close()


def test_concurrent_courses_never_claim_the_same_server():
    DiscordServerFactory.create_batch(6)
    courses = CourseFactory.create_batch(8)
    barrier = threading.Barrier(len(courses))

    def bind(course):
        barrier.wait()
        try:
            return discord_server_bind(course=course)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(courses)) as pool:
        results = list(pool.map(lambda c: _in_thread(bind, c), courses))

    guilds = [r for r in results if isinstance(r, str)]
    errors = [r for r in results if not isinstance(r, str)]
    assert len(guilds) == 6
    assert len(set(guilds)) == 6
    assert len(errors) == 2
    assert all("No Discord server is available" in str(e) for e in errors)
    claimed = DiscordServer.objects.filter(status="claimed")
    assert claimed.count() == 6
    assert claimed.values("course").distinct().count() == 6


def test_a_second_run_of_a_running_course_does_not_execute_steps(platforms, monkeypatch):
    platforms.add_servers(1)
    course = CourseFactory(name="Raced")
    provisioning_plan(course=course)

    entered, release = threading.Event(), threading.Event()
    setup = runner.HANDLERS["SETUP_DISCORD_SERVER"]

    def slow_setup(ctx):
        entered.set()
        assert release.wait(10)
        setup(ctx)

    monkeypatch.setitem(runner.HANDLERS, "SETUP_DISCORD_SERVER", slow_setup)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_in_thread, runner.run_course, course.id)
        assert entered.wait(10)
        second = runner.run_course(course.id)
        release.set()
        assert first.result(timeout=30).outcome == "COMPLETED"

    assert second.outcome == "BUSY"
    assert course.steps.get(name="SETUP_DISCORD_SERVER").attempts == 1
    outcomes = sorted(JobExecution.objects.filter(course=course).values_list("outcome", flat=True))
    assert outcomes.count("BUSY") == 1


def test_two_courses_racing_for_one_explicit_server_get_a_clear_error(monkeypatch):
    from courses import services

    guild = "123456789012345678"
    monkeypatch.setattr(services, "provisioning_enqueue", lambda **kwargs: None)  # not the point
    first = services.course_create(
        name="First", semester="2026-fall", type="LECTURE", discord_guild_id=guild
    )
    # The second create passed its checks before the first committed: skip them.
    monkeypatch.setattr(
        services, "course_check", lambda **kwargs: services.CourseCheck(semester="2026-fall")
    )

    with pytest.raises(services.DiscordServerInUseError) as error:
        services.course_create(
            name="Second", semester="2026-fall", type="LECTURE", discord_guild_id=guild
        )
    assert "just taken by course" in str(error.value)
    assert error.value.existing_id == first.id
