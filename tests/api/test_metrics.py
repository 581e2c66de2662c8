"""/metrics: off by default, guarded by a token or an address list, and its numbers are the
database's after a run (parsed with Prometheus' own text parser)."""

from __future__ import annotations

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from api.services import api_key_create
from audit.models import AuditLog
from courses.models import CourseMember
from integrations.github.app import installation_limit_key
from integrations.github.limits import GitHubLimits
from integrations.ratelimit import limit_store, token_key
from provisioning.context import github_limit_key
from provisioning.models import ExternalResource, ProvisioningStep, ResourceKind
from tests.factories import CourseFactory
from tests.webhooks.receiver import Receiver
from webhooks.services import webhook_endpoint_create

pytestmark = pytest.mark.django_db


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_off_without_token_or_addresses(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = []
    response = Client().get("/metrics")
    assert response.status_code == 404
    assert "METRICS_TOKEN" in response.json()["message"]  # the API's error shape, saying why


def test_token_required(settings):
    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 401
    wrong = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"] == "Bearer"
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_allowed_addresses(settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "not-an-address"]
    assert Client(REMOTE_ADDR="10.2.3.4").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="192.0.2.1").get("/metrics").status_code == 401


@pytest.mark.django_db(transaction=True)
def test_counters_match_the_database_after_a_run(settings, platforms, provision):
    settings.METRICS_TOKEN = "t"
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    platforms.add_servers(2)
    receiver = Receiver().start()
    down = Receiver()  # never started: its deliveries fail and wait for a retry
    key, _ = api_key_create(name="LMS", is_admin=True)
    webhook_endpoint_create(url=receiver.url, events=["course.completed"], api_key=key)
    webhook_endpoint_create(url=down.url, events=["course.failed"], api_key=key)
    provision(name="Algorithms")
    provision(name="Systems", type="LABORATORY", groups=("Mon", "Thu"))
    provision(name="Broken", discord_guild_id="999999999999999999")

    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = _samples(response.content.decode())

    assert samples[("course_provisioning_courses", (("status", "COMPLETED"),))] == 2
    assert samples[("course_provisioning_courses", (("status", "FAILED"),))] == 1
    operations = "course_provisioning_operations"
    assert samples[(operations, (("kind", "PROVISION"), ("status", "COMPLETED")))] == 2
    assert samples[(operations, (("kind", "PROVISION"), ("status", "FAILED")))] == 1
    calls = {
        labels: value
        for (name, labels), value in samples.items()
        if name == "course_provisioning_external_calls_total"
    }
    assert sum(calls.values()) == AuditLog.objects.count() > 0
    github_2xx = (("provider", "github"), ("status_class", "2xx"))
    assert (
        calls[github_2xx]
        == AuditLog.objects.filter(
            provider="github", response_status__gte=200, response_status__lt=300
        ).count()
    )
    completed = ProvisioningStep.objects.filter(status="COMPLETED")
    for step in ("SETUP_DISCORD_SERVER", "CREATE_GITHUB_REPO", "CREATE_GROUP_REPOS"):
        key = (
            "course_provisioning_steps",
            (("name", step), ("status", "COMPLETED")),
        )
        assert samples[key] == completed.filter(name=step).count()
    count = samples[
        ("course_provisioning_step_duration_seconds_count", (("step", "CREATE_GITHUB_REPO"),))
    ]
    assert (
        count
        == ProvisioningStep.objects.filter(
            name="CREATE_GITHUB_REPO", finished_at__isnull=False
        ).count()
        == 1
    )
    assert (
        samples[
            ("course_provisioning_step_duration_seconds_sum", (("step", "CREATE_GITHUB_REPO"),))
        ]
        >= 0
    )
    assert samples[("course_provisioning_pending_oldest_seconds", ())] == 0
    receiver.stop()
    attempts = "course_provisioning_webhook_attempts_total"
    assert samples[(attempts, (("outcome", "succeeded"),))] == 2  # two courses completed
    assert samples[(attempts, (("outcome", "failed"),))] == 1  # one failed, its receiver down
    deliveries = "course_provisioning_webhook_deliveries"
    assert samples[(deliveries, (("status", "SUCCEEDED"),))] == 2
    assert samples[(deliveries, (("status", "PENDING"),))] == 1
    assert samples[("course_provisioning_rate_limit_waits_total", ())] == 0


def test_queue_depth_from_a_redis_broker(settings):
    """With a Redis broker the gauge is the length of Celery's list (db 11: this suite's own)."""
    import redis

    url = "redis://127.0.0.1:6379/11"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("this test needs Redis on 127.0.0.1:6379")
    client.delete("celery")
    client.rpush("celery", "a", "b", "c")
    settings.CELERY_BROKER_URL = url
    settings.METRICS_TOKEN = "t"
    try:
        samples = _samples(Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode())
    finally:
        client.delete("celery")
    assert samples[("course_provisioning_queue_depth", (("queue", "celery"),))] == 3


def _book_github_writes(key: str, count: int, windows: list[tuple[int, float]]) -> None:
    """Spend ``count`` writes of the budget ``key`` as a client would (its turn in the queue)."""
    limits = GitHubLimits(
        store=limit_store(), key=key, write_windows=windows, write_spacing=0, max_wait=5
    )
    for _ in range(count):
        limits.before("POST")


def test_github_write_budget_left_per_window_read_without_spending(settings):
    settings.METRICS_TOKEN = "t"
    settings.GITHUB_APP_ID = ""
    settings.GITHUB_TOKEN = "a-token"
    settings.GITHUB_WRITE_BUDGET = "5/60,20/3600"
    _book_github_writes(github_limit_key(), 2, [(5, 60.0), (20, 3600.0)])

    for _ in range(2):  # a scrape books nothing: the second reads the same
        response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t")
        samples = _samples(response.content.decode())
        remaining = "course_provisioning_github_write_budget_remaining"
        assert samples[(remaining, (("budget", "token"), ("window_seconds", "60")))] == 3
        assert samples[(remaining, (("budget", "token"), ("window_seconds", "3600")))] == 18
        assert samples[("course_provisioning_github_write_waiting", (("budget", "token"),))] == 0
    assert "a-token" not in response.content.decode()
    assert token_key("a-token") not in response.content.decode()


def test_github_write_budgets_of_an_app_are_per_organization(settings):
    settings.METRICS_TOKEN = "t"
    settings.GITHUB_APP_ID = "42"
    settings.GITHUB_ORG = "Main-Org"
    settings.GITHUB_WRITE_BUDGET = "5/60"
    CourseFactory(github_org="dept-b")
    _book_github_writes(installation_limit_key("42", "dept-b"), 1, [(5, 60.0)])

    samples = _samples(Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode())
    remaining = "course_provisioning_github_write_budget_remaining"
    assert samples[(remaining, (("budget", "dept-b"), ("window_seconds", "60")))] == 4
    assert samples[(remaining, (("budget", "main-org"), ("window_seconds", "60")))] == 5


def test_a_rate_limit_store_that_does_not_answer_leaves_the_scrape_working(settings):
    settings.RATE_LIMIT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.METRICS_TOKEN = "t"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t")
    assert response.status_code == 200
    assert "course_provisioning_courses" in response.content.decode()
    assert "course_provisioning_github_write_budget_remaining" not in response.content.decode()


def test_a_broker_that_does_not_answer_leaves_the_scrape_working(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.METRICS_TOKEN = "t"
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer t")
    assert response.status_code == 200
    assert "course_provisioning_queue_depth" not in response.content.decode()


def test_invitation_budget_left_and_members_waiting_per_organization(settings):
    """What the roster sync may still send today, and who waits for it."""
    settings.METRICS_TOKEN = "metrics-secret"
    settings.GITHUB_ORG = "Course-Org"
    settings.GITHUB_INVITATION_BUDGET = 50
    course = CourseFactory(github_org="")
    for number in range(3):
        ExternalResource.objects.create(
            course=course,
            provider=ExternalResource.Provider.GITHUB,
            kind=ResourceKind.MEMBERSHIP,
            key=f"member-{number}:students",
            data={"org": "course-org", "invites": True},
        )
    for number in range(2):
        CourseMember.objects.create(
            course=course,
            name=f"Student {number}",
            email=f"s{number}@example.edu",
            github_state=CourseMember.GitHubState.WAITING,
        )

    body = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret").content.decode()

    assert 'course_provisioning_github_invitations_left{org="course-org"} 47.0' in body
    assert 'course_provisioning_github_invitations_waiting{org="course-org"} 2.0' in body
