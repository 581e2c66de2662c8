"""The operator's commands: provision_course and discord_servers."""

from __future__ import annotations

import json
import logging
import threading
import warnings
from io import StringIO

import pytest
from celery.exceptions import CPendingDeprecationWarning
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connections

from audit.models import SystemEvent
from config.celery import app as celery_app
from courses.models import Course
from provisioning.background import background_wait
from provisioning.models import DiscordServer
from provisioning.runner import run_course
from tests.integrations.helpers import closed_port
from tests.provisioning.helpers import celery_conf

# transaction=True: the command enqueues on commit, which a test inside a transaction never reaches.
pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_provision_course_waits_and_prints_json_status(platforms):
    platforms.add_servers(1)
    output = run(
        "provision_course",
        "--name=Graphics Lab",
        "--semester=2026-fall",
        "--type=laboratory",
        "--group=Alpha",
        "--group=Beta",
        "--wait",
        "--json",
    )
    status = json.loads(output)
    assert status["courseStatus"] == "COMPLETED"
    assert status["progress"] == {"completed": 6, "total": 6}
    course = Course.objects.get(name="Graphics Lab")
    assert list(course.lab_groups.values_list("number", "name")) == [(1, "Alpha"), (2, "Beta")]


def test_provision_course_wait_fails_with_the_failing_step(platforms):
    with pytest.raises(CommandError, match="FAILED at SETUP_DISCORD_SERVER: No Discord server"):
        run("provision_course", "--name=X", "--semester=2026-fall", "--type=lecture", "--wait")


def test_retry_from_the_command_line(platforms):
    with pytest.raises(CommandError):
        run("provision_course", "--name=X", "--semester=2026-fall", "--type=lecture", "--wait")
    course = Course.objects.get(name="X")
    platforms.add_servers(1)

    output = run("provision_course", f"--retry={course.id}", "--wait")

    assert f"Course {course.id} COMPLETED" in output
    with pytest.raises(CommandError, match="has no failed step"):
        run("provision_course", f"--retry={course.id}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name=X", "--semester=2026-fall"], "Missing --type"),
        (["--name=", "--semester=2026-fall", "--type=lecture"], "Missing --name"),
        (["--name=X", "--semester=2026 fall!", "--type=lecture"], "semester"),
        (["--name=X", "--semester=s", "--type=laboratory"], "1 to 50 lab groups"),
        (["--name=X", "--semester=s", "--type=lecture", "--group=A"], "A lecture has no lab"),
        (["--name=X", "--semester=s", "--type=lecture", "--discord-guild-id=12"], "snowflake"),
        (["--retry=not-a-uuid"], "No course with id"),
    ],
)
def test_bad_arguments_are_usage_errors_not_tracebacks(args, message):
    with pytest.raises(CommandError, match=message):
        run("provision_course", *args)


def test_same_course_twice_names_the_existing_one(platforms):
    platforms.add_servers(1)
    run("provision_course", "--name=Twice", "--semester=2026-fall", "--type=lecture")
    existing = Course.objects.get(name="Twice")
    with pytest.raises(CommandError, match=str(existing.id)):
        run("provision_course", "--name=Twice", "--semester=2026-fall", "--type=lecture")


def test_discord_servers_add_and_list(platforms):  # more in test_pool_commands.py
    guild_id = platforms.control.create_guild(name="Room A")["id"]
    assert "The pool is empty" in run("discord_servers", "list")
    assert "available" in run("discord_servers", "add", guild_id, "--name=Room A")
    run("discord_servers", "add", guild_id)  # idempotent
    assert DiscordServer.objects.count() == 1
    assert f"{guild_id}  available Room A" in run("discord_servers", "list")
    with pytest.raises(CommandError, match="not a Discord server id"):
        run("discord_servers", "add", "abc")


# --- Progress, summary and exit codes -------------------------------------------------------


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


LECTURE = ("provision_course", "--name=Compilers", "--semester=2026-fall", "--type=lecture")
LECTURE_STEPS = [
    "SETUP_DISCORD_SERVER",
    "CREATE_DISCORD_CHANNELS",
    "CREATE_GITHUB_REPO",
    "SEED_GITHUB_CONTENT",
    "APPLY_BRANCH_PROTECTION",
]


def assert_steps_started_and_ended(output: str) -> None:
    lines = output.splitlines()
    for name in LECTURE_STEPS:
        started = lines.index(f"{name} started")
        [ended] = [i for i, line in enumerate(lines) if line.startswith(f"{name} COMPLETED in ")]
        assert started < ended, name
    assert "\x1b" not in output  # not a terminal: plain lines


def assert_summary(output: str, course: Course) -> None:
    assert f"Course {course.id} COMPLETED" in output
    assert f"Discord server  {course.name} · {course.semester}" in output
    assert "https://discord.com/channels/" in output
    assert "#announcements" in output
    repo = course.resources.get(kind="repository")
    assert repo.url and repo.url in output


@pytest.fixture
def background_mode(settings):
    settings.PROVISIONING_EXECUTION = "background"
    yield
    assert background_wait(timeout=60)


@pytest.fixture
def celery_mode(monkeypatch):
    """A broker is configured: the command only enqueues (the message is kept, not sent)."""
    sent: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, args, **_: sent.append((name, args)))
    with celery_conf(CELERY_TASK_ALWAYS_EAGER=False):
        yield sent


def test_wait_shows_each_step_as_it_starts_and_ends_inline(platforms):
    platforms.add_servers(1)
    output = run(*LECTURE, "--wait")
    assert_steps_started_and_ended(output)
    assert_summary(output, Course.objects.get(name="Compilers"))


def test_wait_shows_each_step_in_background_mode(platforms, background_mode):
    platforms.add_servers(1)
    platforms.control.set_faults(latency_ms=30)  # steps last long enough to be seen running
    output = run(*LECTURE, "--wait")
    assert_steps_started_and_ended(output)
    assert_summary(output, Course.objects.get(name="Compilers"))


def test_wait_follows_a_worker_in_celery_mode(platforms, celery_mode, monkeypatch):
    platforms.add_servers(1)
    workers: list[threading.Thread] = []

    def worker(name: str, args: list[str], **_: object) -> None:  # the worker taking the message
        def work() -> None:
            try:
                run_course(args[0])
            finally:
                connections.close_all()

        workers.append(threading.Thread(target=work))
        workers[-1].start()

    monkeypatch.setattr(celery_app, "send_task", worker)
    output = run(*LECTURE, "--wait")
    for thread in workers:
        thread.join(30)

    assert_steps_started_and_ended(output)
    assert_summary(output, Course.objects.get(name="Compilers"))


def test_without_wait_in_celery_mode_the_command_returns_pending(platforms, celery_mode):
    output = run(*LECTURE)
    course = Course.objects.get(name="Compilers")
    assert output.strip() == f"Course {course.id} is PENDING."
    assert celery_mode == [("provisioning.tasks.provision_course", [str(course.id)])]


def test_without_wait_in_process_the_command_waits_for_the_run(platforms, background_mode):
    platforms.add_servers(1)
    output = run(*LECTURE)  # the run's thread would die with the command: it waits for it
    course = Course.objects.get(name="Compilers")
    assert course.status == Course.Status.COMPLETED
    assert_summary(output, course)
    assert "started" not in output  # the step-by-step display is --wait's


def test_a_crashed_background_run_ends_the_wait_with_its_error(
    platforms, background_mode, monkeypatch
):
    """The course stays unfinished after a crash (the sweep takes it over later): the command
    says so at once instead of polling until its timeout."""

    def crash(course_id: str, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr("provisioning.background.run_course", crash)
    platforms.add_servers(1)
    with pytest.raises(CommandError, match=r"its run crashed \(RuntimeError: disk full\)"):
        run(*LECTURE, "--wait", "--timeout=30")


def test_on_a_terminal_each_step_is_one_line_rewritten_in_place(platforms):
    platforms.add_servers(1)
    out = Terminal()
    call_command(*LECTURE, "--wait", stdout=out)
    output = out.getvalue()
    assert "\x1b[5F" in output  # back up over the five step lines
    assert "\x1b[2K[ok] APPLY_BRANCH_PROTECTION" in output
    assert "[>>] SETUP_DISCORD_SERVER" in output  # seen running
    final = output.rsplit("\x1b[5F", 1)[1]
    assert [line.split()[1] for line in final.split("\n")[:5]] == LECTURE_STEPS


@pytest.mark.parametrize("wait", [[], ["--wait"]])
def test_a_failed_run_exits_non_zero_with_the_step_and_reason(platforms, wait):
    with pytest.raises(CommandError, match="FAILED at SETUP_DISCORD_SERVER: No Discord server"):
        run(*LECTURE, *wait)


def test_the_exit_code_and_stderr_of_a_failed_run(platforms, capsys):
    with pytest.raises(SystemExit) as exit:
        ManagementUtility(["manage.py", *LECTURE]).execute()
    assert exit.value.code == 1
    captured = capsys.readouterr()
    assert "FAILED at SETUP_DISCORD_SERVER: No Discord server is available" in captured.err
    assert "Traceback" not in captured.err


def test_an_unreachable_broker_leaves_the_course_pending_and_says_so():
    with closed_port() as port:
        broker = f"redis://127.0.0.1:{port}/0"
        celery_app._pool, celery_app.amqp._producer_pool = None, None  # built for memory://
        try:
            with celery_conf(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=broker):
                output = run(*LECTURE)
                with pytest.raises(CommandError, match="the broker could not be reached"):
                    run(*LECTURE[:1], "--name=Other", *LECTURE[2:], "--wait")
        finally:
            celery_app._pool, celery_app.amqp._producer_pool = None, None

    course = Course.objects.get(name="Compilers")
    assert output.strip() == f"Course {course.id} is PENDING (the broker could not be reached)."
    assert SystemEvent.objects.filter(kind="enqueue_failed").count() == 2  # said by the events


def test_celery_and_kombu_stay_silent_while_the_command_runs(
    platforms, celery_mode, monkeypatch, caplog, recwarn
):
    def noisy_publish(
        name: str, args: list[str], **_: object
    ) -> None:  # what a reconnecting publish says
        logging.getLogger("kombu.connection").warning("Connection refused, retrying in 1s")
        logging.getLogger("celery.app.amqp").error("Broker connection error")
        warnings.warn(
            "broker_connection_retry is deprecated", CPendingDeprecationWarning, stacklevel=1
        )

    monkeypatch.setattr(celery_app, "send_task", noisy_publish)
    caplog.set_level("DEBUG")

    run(*LECTURE)

    noisy = ("celery", "kombu", "amqp")
    assert [r.getMessage() for r in caplog.records if r.name.split(".")[0] in noisy] == []
    assert [str(w.message) for w in recwarn] == []
    assert logging.getLogger("kombu").level == logging.NOTSET  # given back after the command
