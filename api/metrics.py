"""``GET /metrics``: Prometheus metrics, read from the database at scrape time.

A custom collector instead of counters kept in memory: the web process, the background threads
and every Celery worker write the same database, so reading it when Prometheus scrapes is right
across processes (no multiprocess directory to share) and costs a handful of grouped counts. The
audit log is never deleted, so its grouped count is a true counter.

Off (404) unless ``METRICS_TOKEN`` (sent as ``Authorization: Bearer <token>``) or
``METRICS_ALLOWED_IPS`` (addresses or networks) is set; a scrape with neither right is refused.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Iterator
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Sum, Value, When
from django.db.models import CharField as CharFieldType
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views import View
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector, CollectorRegistry

from api.exceptions import json_error
from audit.models import AuditLog, SystemEvent
from courses.models import Course, CourseMember
from integrations.errors import TransientError
from integrations.github.limits import write_budget_left
from integrations.ratelimit import limit_store, parse_windows
from provisioning.context import github_write_budgets
from provisioning.invitations import invitations_counted
from provisioning.models import InvitationWindow, ProvisioningStep
from webhooks.models import WebhookAttempt, WebhookDelivery

logger = logging.getLogger(__name__)
PREFIX = "course_provisioning"


class DatabaseCollector(Collector):
    """Everything the metrics say, counted in the database when scraped."""

    def collect(self) -> Iterator[Metric]:
        # Torn-down courses are records, not courses any more (their operations still count).
        live = Course.objects.filter(deleted_at__isnull=True)
        yield self._by("courses", "Courses by status.", live, ["status"])
        operation = _operation_model()
        if operation is not None:
            yield self._by(
                "operations",
                "Operations on courses by kind and status.",
                operation.objects.all(),
                ["kind", "status"],
            )
        yield self._by(
            "steps", "Steps by name and status.", ProvisioningStep.objects.all(), ["name", "status"]
        )
        yield self._step_durations()
        yield self._external_calls()
        yield self._counter(
            "rate_limit_waits",
            "Waits for a platform's rate limit that re-scheduled a run.",
            SystemEvent.objects.filter(kind=SystemEvent.Kind.RATE_LIMITED).count(),
        )
        yield self._by(
            "webhook_deliveries",
            "Webhook deliveries by status.",
            WebhookDelivery.objects.all(),
            ["status"],
        )
        attempts = CounterMetricFamily(
            f"{PREFIX}_webhook_attempts",
            "Webhook delivery attempts by outcome.",
            labels=["outcome"],
        )
        counted = dict(
            WebhookAttempt.objects.values_list("succeeded").annotate(n=Count("id")).order_by()
        )
        attempts.add_metric(["succeeded"], counted.get(True, 0))
        attempts.add_metric(["failed"], counted.get(False, 0))
        yield attempts
        yield from self._queue()
        yield from self._github_write_budgets()
        yield from self._invitations()

    def _invitations(self) -> Iterator[Metric]:
        """What is left of each organization's invitation budget (GITHUB_INVITATION_BUDGET per
        24 hours, counted from our own records: provisioning.invitations), and how many members
        wait for it."""
        left = GaugeMetricFamily(
            f"{PREFIX}_github_invitations_left",
            "Organization invitations left in the 24-hour window (GITHUB_INVITATION_BUDGET).",
            labels=["org"],
        )
        orgs = {settings.GITHUB_ORG.lower()} | set(
            InvitationWindow.objects.values_list("org", flat=True)
        )
        for org in sorted(orgs):
            budget = settings.GITHUB_INVITATION_BUDGET
            left.add_metric([org], max(0, budget - invitations_counted(org=org)))
        yield left
        waiting = GaugeMetricFamily(
            f"{PREFIX}_github_invitations_waiting",
            "Roster members waiting for their organization's invitation budget.",
            labels=["org"],
        )
        rows = (
            CourseMember.objects.filter(
                github_state=CourseMember.GitHubState.WAITING,
                removed_at__isnull=True,
                course__deleted_at__isnull=True,
            )
            .values("course__github_org")
            .annotate(n=Count("pk"))
            .order_by("course__github_org")
        )
        by_org: dict[str, int] = {}
        for row in rows:
            org = (row["course__github_org"] or settings.GITHUB_ORG).lower()
            by_org[org] = by_org.get(org, 0) + row["n"]
        for org, count in sorted(by_org.items()):
            waiting.add_metric([org], count)
        yield waiting

    def _by(self, name: str, documentation: str, rows: Any, labels: list[str]) -> Metric:
        gauge = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=labels)
        for row in rows.values(*labels).annotate(n=Count("pk")).order_by(*labels):
            gauge.add_metric([str(row[label]) for label in labels], row["n"])
        return gauge

    def _counter(self, name: str, documentation: str, value: float) -> Metric:
        counter = CounterMetricFamily(f"{PREFIX}_{name}", documentation)
        counter.add_metric([], value)
        return counter

    def _step_durations(self) -> Metric:
        """A summary per step (count and sum of seconds) of the finished steps: the database
        keeps each step's start and end, not a histogram's buckets."""
        summary = SummaryMetricFamily(
            f"{PREFIX}_step_duration_seconds",
            "Duration of finished steps, first attempt to end.",
            labels=["step"],
        )
        duration = ExpressionWrapper(
            F("finished_at") - F("started_at"), output_field=DurationField()
        )
        rows = (
            ProvisioningStep.objects.filter(started_at__isnull=False, finished_at__isnull=False)
            .values("name")
            .annotate(n=Count("id"), total=Sum(duration))
            .order_by("name")
        )
        for row in rows:
            total = row["total"].total_seconds() if row["total"] is not None else 0.0
            summary.add_metric([row["name"]], count_value=row["n"], sum_value=total)
        return summary

    def _external_calls(self) -> Metric:
        status_class = Case(
            When(response_status__isnull=True, then=Value("none")),
            When(response_status__lt=300, then=Value("2xx")),
            When(response_status__lt=400, then=Value("3xx")),
            When(response_status__lt=500, then=Value("4xx")),
            default=Value("5xx"),
            output_field=CharFieldType(),
        )
        counter = CounterMetricFamily(
            f"{PREFIX}_external_calls",
            "Calls to Discord and GitHub by provider and status class (none: no answer).",
            labels=["provider", "status_class"],
        )
        rows = (
            AuditLog.objects.annotate(status_class=status_class)
            .values("provider", "status_class")
            .annotate(n=Count("id"))
            .order_by("provider", "status_class")
        )
        for row in rows:
            counter.add_metric([row["provider"], row["status_class"]], row["n"])
        return counter

    def _queue(self) -> Iterator[Metric]:
        """How many provisioning runs wait, and for how long the oldest pending course has."""
        oldest = (
            Course.objects.filter(status=Course.Status.PENDING)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        lag = GaugeMetricFamily(
            f"{PREFIX}_pending_oldest_seconds", "Age of the oldest course still PENDING."
        )
        lag.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield lag
        broker = settings.CELERY_BROKER_URL
        if not broker.startswith(("redis://", "rediss://")):
            return
        depth = GaugeMetricFamily(
            f"{PREFIX}_queue_depth", "Messages waiting in the broker's queue.", labels=["queue"]
        )
        try:
            import redis

            client = redis.Redis.from_url(broker, socket_timeout=1, socket_connect_timeout=1)
            depth.add_metric(["celery"], float(client.llen("celery")))  # type: ignore[arg-type]
        except Exception as exc:  # a scrape must answer even when the broker does not
            logger.warning("metrics: broker unavailable: %s", exc.__class__.__name__)
            return
        yield depth

    def _github_write_budgets(self) -> Iterator[Metric]:
        """What is left of each GitHub write budget (``GITHUB_WRITE_BUDGET``, per window) and how
        many runs queue for its next slot, read from the shared limit store without booking: a
        scrape never spends a write. Labelled ``token``, or the organization of a GitHub App's
        installation, never with the key (a digest of the token)."""
        windows = parse_windows(settings.GITHUB_WRITE_BUDGET)
        remaining = GaugeMetricFamily(
            f"{PREFIX}_github_write_budget_remaining",
            "GitHub writes left in each window of GITHUB_WRITE_BUDGET (a slot booked ahead is "
            "spent), per budget: the token, or the GitHub App's installation on an organization.",
            labels=["budget", "window_seconds"],
        )
        waiting = GaugeMetricFamily(
            f"{PREFIX}_github_write_waiting",
            "Runs waiting now for a slot of the GitHub write budget.",
            labels=["budget"],
        )
        store = limit_store()
        for label, key in github_write_budgets().items():
            try:
                left = write_budget_left(store, key, windows)
            except TransientError as exc:  # the limit store (Redis) does not answer
                logger.warning("metrics: rate-limit store unavailable: %s", exc)
                return
            for (_, seconds), count in zip(windows, left.remaining, strict=True):
                remaining.add_metric([label, f"{seconds:g}"], count)
            waiting.add_metric([label], left.waiting)
        yield remaining
        yield waiting


def _operation_model() -> Any:
    try:
        return apps.get_model("provisioning", "Operation")
    except LookupError:
        return None


_registry = CollectorRegistry(auto_describe=False)
_registry.register(DatabaseCollector())


def metrics_allowed(request: HttpRequest) -> bool | None:
    """None when metrics are off; else whether this request may read them."""
    token, networks = settings.METRICS_TOKEN, settings.METRICS_ALLOWED_IPS
    if not token and not networks:
        return None
    if token:
        sent = request.headers.get("Authorization", "")
        if sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
            return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network.strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


class MetricsView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        allowed = metrics_allowed(request)
        if allowed is None:
            return json_error(404, "Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_IPS.")
        if not allowed:
            response = HttpResponse("Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401)
            response["WWW-Authenticate"] = "Bearer"
            return response
        return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)
