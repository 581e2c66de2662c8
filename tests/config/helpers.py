"""Run Django in a child process with a controlled environment.

Settings are read once per process, so every configuration under test gets its own interpreter,
started from an empty environment (PATH only) plus exactly the variables the test sets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = "config.settings.production"

# A 64-character key from `openssl rand -hex 32`: long and varied enough for check --deploy.
SECRET = "8f3c2a9d4b7e6f1a0c5d9e8b7a6f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d"

# The variables production cannot start without, in live mode.
REQUIRED_LIVE = {
    "SECRET_KEY": SECRET,
    "DATABASE_URL": "postgres://provisioning:secret@db.internal:5432/provisioning",
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "courses.example.edu",
    "INTEGRATIONS_MODE": "live",
    "DISCORD_BOT_TOKEN": "discord-bot-token",
    "DISCORD_APPLICATION_ID": "123456789012345678",
    "GITHUB_TOKEN": "github-token",
    "GITHUB_ORG": "example-university",
}

# Every variable read anywhere in config/, set to a valid production value.
EVERY_VARIABLE = {
    **REQUIRED_LIVE,
    "DJANGO_SETTINGS_MODULE": PRODUCTION,
    "DEBUG": "false",
    "CSRF_TRUSTED_ORIGINS": "https://courses.example.edu",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "CONN_MAX_AGE": "60",
    "LOG_LEVEL": "INFO",
    "CELERY_TASK_SOFT_TIME_LIMIT": "600",
    "CELERY_TASK_TIME_LIMIT": "660",
    "INTEGRATIONS_CONNECT_TIMEOUT": "5",
    "INTEGRATIONS_READ_TIMEOUT": "30",
    "SANDBOX_URL": "http://sandbox:8001",
    "DISCORD_API_URL": "https://discord.com/api/v10",
    "GITHUB_API_URL": "https://api.github.com",
    "GITHUB_APP_ID": "123456",
    "GITHUB_APP_PRIVATE_KEY": (
        "-----BEGIN RSA PRIVATE KEY-----\\nMIIE...\\n-----END RSA PRIVATE KEY-----"
    ),
    "GITHUB_APP_PRIVATE_KEY_FILE": "/run/secrets/github-app.pem",
    "GITHUB_PROTECTION_MODE": "ruleset",
    "TEARDOWN_REPOSITORIES": "archive",
    "API_KEY": "bootstrap-key-of-at-least-32-characters",
    "API_THROTTLE_RATE": "600/min",
    "API_AUTH_FAILURE_RATE": "20/min",
    "API_NUM_PROXIES": "1",
    "ADMIN_LOGIN_FAILURE_LIMIT": "5",
    "ADMIN_LOGIN_LOCKOUT_MINUTES": "30",
    "API_MAX_ACTIVE_COURSES_PER_KEY": "50",
    "API_MAX_BODY_BYTES": "65536",
    "API_IDEMPOTENCY_TTL_HOURS": "24",
    "API_HEALTH_BROKER_TIMEOUT": "2",
    "CORS_ALLOWED_ORIGINS": "https://lms.example.edu",
    "WEBHOOK_ALLOWED_HOSTS": "hooks.internal",
    "WEBHOOK_RETRY_BASE_SECONDS": "30",
    "WEBHOOK_RETRY_HOURS": "24",
    "WEBHOOK_TIMEOUT_SECONDS": "10",
    "WEBHOOK_SWEEP_SECONDS": "30",
    "METRICS_TOKEN": "metrics-token",
    "METRICS_ALLOWED_IPS": "10.0.0.0/8",
    "CELERY_VISIBILITY_TIMEOUT": "720",
    "INTEGRATIONS_SAFE_RETRIES": "2",
    "INTEGRATIONS_SAFE_RETRY_DELAY": "0.5",
    "GITHUB_SECONDS_BETWEEN_WRITES": "1",
    "GITHUB_WRITE_BUDGET": "70/60,450/3600",
    "DISCORD_GLOBAL_LIMIT": "45",
    "RATE_LIMIT_REDIS_URL": "redis://127.0.0.1:6379/1",
    "PROVISIONING_MAX_ATTEMPTS": "5",
    "SEMESTER_TERMS": "spring,fall",
    "PROVISIONING_RETRY_BASE_SECONDS": "5",
    "PROVISIONING_MAX_INLINE_WAIT_SECONDS": "60",
    "PROVISIONING_LEASE_SECONDS": "180",
    "PROVISIONING_RECOVERY_INTERVAL_SECONDS": "60",
    "PROVISIONING_RECOVERY_GRACE_SECONDS": "600",
    "PROVISIONING_SKIP_UNAVAILABLE_PROTECTION": "false",
    "POOL_LOW_WATERMARK": "2",
    "VERIFY_INTERVAL_HOURS": "24",
    "GITHUB_INVITATION_BUDGET": "500",
    "LECTURE_STUDENT_PERMISSION": "triage",
    "DISCORD_INVITE_MAX_AGE": "604800",
    "VERIFY_BATCH_PER_TICK": "20",
    "VERIFY_SWEEP_SECONDS": "300",
    # config/gunicorn.py's, read by gunicorn itself
    "GUNICORN_BIND": "0.0.0.0:8000",
    "WEB_CONCURRENCY": "3",
    "GUNICORN_THREADS": "8",
    "GUNICORN_CLIENT_TIMEOUT": "5",
}


def clean_env(**variables: str) -> dict[str, str]:
    """PATH and the given variables, nothing inherited (no DATABASE_URL from CI, no .env)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **variables}


def run_python(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run this venv's interpreter from the project root."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
