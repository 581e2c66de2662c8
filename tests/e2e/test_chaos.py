"""Chaos: two workers, one of them SIGKILLed three times at random moments, and a broker that
goes away while courses are created. Nothing is lost, nothing is made twice."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time

import pytest

from audit.models import SystemEvent
from courses.models import Course
from courses.services import LabGroupInput, course_create
from tests.e2e.conftest import WORKER_ARGS, Worker, wait_for
from tests.provisioning.helpers import SEEDED_FILES, assert_no_duplicates

pytestmark = pytest.mark.e2e

RECOVERY = {
    "PROVISIONING_RECOVERY_INTERVAL_SECONDS": "2",
    "PROVISIONING_RECOVERY_GRACE_SECONDS": "5",
}


def _worker(env: dict[str, str], tmp_path, name: str, concurrency: str = "1") -> Worker:
    args = [*WORKER_ARGS, "--hostname", f"{name}@%h"]
    args[args.index("--concurrency") + 1] = concurrency
    return Worker(env, tmp_path / f"{name}.log", args)


def _beat(env: dict[str, str], tmp_path) -> Worker:
    schedule = str(tmp_path / "beat-schedule")
    return Worker(env, tmp_path / "beat.log", ["beat", "--schedule", schedule, "-l", "INFO"])


def _all_settled(courses: list[Course]) -> bool:
    ids = [course.id for course in courses]
    settled = Course.objects.filter(id__in=ids, status__in=Course.TERMINAL)
    return settled.count() == len(ids)


def test_twenty_courses_survive_three_worker_kills(worker_env, platforms, tmp_path):
    env = {**worker_env, **RECOVERY}
    workers = [_worker(env, tmp_path, "w1"), _worker(env, tmp_path, "w2")]
    beat = _beat(env, tmp_path)
    for process in (*workers, beat):
        process.start()
    platforms.add_servers(20)
    platforms.control.set_faults(latency_ms=40)
    chance = random.Random(2026)
    try:
        courses = []
        for number in range(20):
            groups = [LabGroupInput(name="A", number=1), LabGroupInput(name="B", number=2)]
            laboratory = number % 4 == 0
            courses.append(
                course_create(
                    name=f"Chaos {number}",
                    semester="2026-fall",
                    type=Course.Type.LABORATORY if laboratory else Course.Type.LECTURE,
                    lab_groups=groups if laboratory else (),
                )
            )
        for _ in range(3):
            time.sleep(chance.uniform(1.0, 3.0))
            victim = chance.choice(workers)
            victim.kill()
            time.sleep(0.5)
            victim.start()

        wait_for(lambda: _all_settled(courses), 240, "every course to settle", workers[0])
    finally:
        for process in (*workers, beat):
            process.stop()

    statuses = set(Course.objects.filter(name__startswith="Chaos").values_list("status", flat=True))
    assert statuses == {Course.Status.COMPLETED}, [w.tail() for w in workers]
    state = platforms.state()
    assert_no_duplicates(state)
    assert len(state["github"]["repos"]) == 15 + 5 * 2
    for repo in state["github"]["repos"].values():
        assert set(repo["files"]) == SEEDED_FILES


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A Redis server of this test's own, to stop and start without touching anyone else's."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def private_redis(broker_url):
    from config.celery import app as celery_app
    from tests.e2e.conftest import _forget_connections

    redis_server = PrivateRedis(_free_port())
    redis_server.start()
    saved = celery_app.conf.CELERY_BROKER_URL
    celery_app.conf.CELERY_BROKER_URL = redis_server.url
    _forget_connections()
    yield redis_server
    redis_server.stop()
    celery_app.conf.CELERY_BROKER_URL = saved
    _forget_connections()


def test_a_course_created_while_the_broker_is_down_is_provisioned_once_it_is_back(
    worker_env, platforms, private_redis, tmp_path
):
    env = {**worker_env, **RECOVERY, "CELERY_BROKER_URL": private_redis.url}
    env["RATE_LIMIT_REDIS_URL"] = worker_env["CELERY_BROKER_URL"]
    worker = _worker(env, tmp_path, "w1", concurrency="2")
    beat = _beat(env, tmp_path)
    platforms.add_servers(1)
    worker.start()
    beat.start()
    try:
        private_redis.stop()  # the broker goes away
        course = course_create(name="Offline", semester="2026-fall", type=Course.Type.LECTURE)
        course.refresh_from_db()
        assert course.status == Course.Status.PENDING  # accepted, not lost
        assert SystemEvent.objects.filter(kind="enqueue_failed", course=course).exists()

        private_redis.start()  # it is back: the sweep finds the course
        wait_for(lambda: _all_settled([course]), 120, "the course to settle", worker)
    finally:
        worker.stop()
        beat.stop()

    course.refresh_from_db()
    assert course.status == Course.Status.COMPLETED, worker.tail()
    assert SystemEvent.objects.filter(kind="orphaned_run_recovered", course=course).exists()
