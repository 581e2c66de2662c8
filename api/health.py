"""``GET /health``: can this process serve requests and queue provisioning? No key needed."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema
from kombu import Connection
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.celery import runs_in_process

logger = logging.getLogger(__name__)

OK = "ok"
IN_PROCESS = "in-process"


class HealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "error"])
    checks = serializers.DictField(
        child=serializers.CharField(),
        help_text='"ok", "in-process" (broker: tasks run eagerly) or "error: <what failed>".',
    )


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.warning("health: database unavailable: %s", exc)
        # Only the error's type: this endpoint is public, the message may name hosts.
        return f"error: {exc.__class__.__name__}"
    return OK


def check_broker() -> str:
    """Connect to the broker with a short timeout; with eager tasks there is none to reach."""
    if runs_in_process():
        return IN_PROCESS
    timeout = settings.API_HEALTH_BROKER_TIMEOUT
    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=timeout,
            transport_options={"socket_connect_timeout": timeout, "socket_timeout": timeout},
        ) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=timeout
            )
    except Exception as exc:
        logger.warning("health: broker unavailable: %s", exc)
        return f"error: {exc.__class__.__name__}"
    return OK


class HealthView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []  # probes must never be throttled

    @extend_schema(
        operation_id="health",
        summary="Health of the database and the broker",
        responses={200: HealthSerializer, 503: HealthSerializer},
        tags=["health"],
    )
    def get(self, request: Request) -> Response:
        checks = {"database": check_database(), "broker": check_broker()}
        healthy = all(not value.startswith("error") for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "error", "checks": checks},
            status=200 if healthy else 503,
        )
