"""Production settings: PostgreSQL, a real broker, live integrations, hardened HTTP.

Every required variable is checked here, at start-up, by :func:`config.env.require`: a missing or
malformed one stops the process with one line naming it. ``manage.py check --deploy`` passes with
these settings as long as the optional security variables keep their defaults.
"""

import environ

from config.env import ConfigError, env, fail_fast, parse_list, parse_url, require, validate
from config.logging import logging_config
from config.settings.base import *  # noqa: F403
from config.settings.base import (
    API_KEY,
    API_MAX_BODY_BYTES,
    CELERY_BROKER_TRANSPORT_OPTIONS,
    CELERY_TASK_SOFT_TIME_LIMIT,
    CELERY_TASK_TIME_LIMIT,
    GITHUB_APP_ID,
    INTEGRATIONS_HTTP_TIMEOUT,
    LOGGING,
    PROVISIONING_LEASE_SECONDS,
    PROVISIONING_MAX_ATTEMPTS,
    PROVISIONING_RETRY_BASE_SECONDS,
    SANDBOX_URL,
)

DEBUG = False


def _parse_secret_key(value: str) -> str:
    # The same bar as Django's deploy check (security.W009), so a key accepted here never makes
    # `check --deploy` complain later.
    if len(value) < 50 or len(set(value)) < 5 or value.startswith("django-insecure-"):
        raise ConfigError("use at least 50 random characters, e.g. `openssl rand -hex 32`")
    return value


SECRET_KEY = require(
    "SECRET_KEY", _parse_secret_key, hint="a long random string, e.g. from `openssl rand -hex 32`"
)

DATABASES = {
    "default": require(
        "DATABASE_URL",
        lambda value: environ.Env.db_url_config(parse_url(("postgres", "postgresql"))(value)),
        hint="postgres://USER:PASSWORD@HOST:5432/NAME",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

CELERY_BROKER_URL = require(
    "CELERY_BROKER_URL", parse_url(("redis", "rediss")), hint="redis://HOST:6379/0"
)
CELERY_TASK_ALWAYS_EAGER = False
if not 0 < CELERY_TASK_SOFT_TIME_LIMIT < CELERY_TASK_TIME_LIMIT:
    # The soft limit lets a step record its failure; past the hard limit the worker is killed.
    fail_fast(
        "CELERY_TASK_SOFT_TIME_LIMIT is malformed: it must be positive and below "
        f"CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT})"
    )
if CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= CELERY_TASK_TIME_LIMIT:
    # Redis would hand a still-running task to a second worker.
    fail_fast(
        "CELERY_VISIBILITY_TIMEOUT is malformed: it must exceed "
        f"CELERY_TASK_TIME_LIMIT ({CELERY_TASK_TIME_LIMIT})"
    )
# Zero or negative values here mean "hang forever", "never retry" or "busy-loop": refuse them.
for _name, _value in {
    "INTEGRATIONS_CONNECT_TIMEOUT": INTEGRATIONS_HTTP_TIMEOUT[0],
    "INTEGRATIONS_READ_TIMEOUT": INTEGRATIONS_HTTP_TIMEOUT[1],
    "PROVISIONING_MAX_ATTEMPTS": PROVISIONING_MAX_ATTEMPTS,
    "PROVISIONING_RETRY_BASE_SECONDS": PROVISIONING_RETRY_BASE_SECONDS,
    "PROVISIONING_LEASE_SECONDS": PROVISIONING_LEASE_SECONDS,
}.items():
    if not 0 < _value < float("inf"):
        fail_fast(f"{_name} is malformed: expected a positive number, got {_value}")


def _parse_log_level(value: str) -> str:
    # logging only knows upper-case names, and an unknown one is a traceback in django.setup().
    levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    if value.upper() not in levels:
        raise ConfigError(f"expected one of {', '.join(levels)}, got {value!r}")
    return value.upper()


# One JSON object per line, with course, step, task and request ids (config.logging).
LOGGING = logging_config(
    json_lines=True,
    level=validate("LOG_LEVEL", str(LOGGING["root"]["level"]), _parse_log_level),
)


_http_url = parse_url(("http", "https"))
INTEGRATIONS_MODE = env.str("INTEGRATIONS_MODE", default="live")
if INTEGRATIONS_MODE not in ("live", "sandbox"):
    fail_fast(
        f"INTEGRATIONS_MODE is malformed: expected live or sandbox, got {INTEGRATIONS_MODE!r}"
    )
if INTEGRATIONS_MODE == "live":
    DISCORD_API_URL = env.str("DISCORD_API_URL", default="https://discord.com/api/v10").rstrip("/")
    GITHUB_API_URL = env.str("GITHUB_API_URL", default="https://api.github.com").rstrip("/")
    DISCORD_BOT_TOKEN = require("DISCORD_BOT_TOKEN", hint="the bot token of your Discord app")
    DISCORD_APPLICATION_ID = require(
        "DISCORD_APPLICATION_ID", lambda v: str(int(v)), hint="your Discord app's id"
    )
    if not GITHUB_APP_ID:  # a GitHub App's installations need no token
        GITHUB_TOKEN = require("GITHUB_TOKEN", hint="a token with admin rights on GITHUB_ORG")
    GITHUB_ORG = require("GITHUB_ORG", hint="the organization that will own course repositories")
    # base.py picks its defaults by *its* default mode (sandbox); live GitHub wants >= 1 s.
    GITHUB_SECONDS_BETWEEN_WRITES = env.float("GITHUB_SECONDS_BETWEEN_WRITES", default=1.0)
else:
    # Sandbox mode keeps the base settings' sandbox URLs and tokens; only the address can be wrong.
    validate("SANDBOX_URL", SANDBOX_URL, _http_url)
validate("DISCORD_API_URL", DISCORD_API_URL, _http_url)
validate("GITHUB_API_URL", GITHUB_API_URL, _http_url)

ALLOWED_HOSTS = require("ALLOWED_HOSTS", parse_list, hint="comma-separated host names")
if any("*" in host for host in ALLOWED_HOSTS):
    # Any Host header would be believed, and end up in absolute URLs (Location, next links).
    fail_fast("ALLOWED_HOSTS is malformed: '*' accepts any Host header; list the host names")
# A bootstrap key short enough to guess, or to slip past the log redaction of secrets.
if API_KEY and len(API_KEY) < 32:
    fail_fast(
        "API_KEY is malformed: use at least 32 random characters (openssl rand -hex 32), "
        "or leave it empty and make keys with manage.py create_api_key"
    )
if API_MAX_BODY_BYTES <= 0:
    fail_fast(
        f"API_MAX_BODY_BYTES is malformed: expected a positive size, got {API_MAX_BODY_BYTES}"
    )
# Django's ".example.com" (any subdomain) is "https://*.example.com" for CSRF.
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS",
    default=[f"https://{'*' + h if h.startswith('.') else h}" for h in ALLOWED_HOSTS],
)

# TLS ends at the proxy in front of us; it tells us the original scheme in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^health$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Webhook targets on private, loopback or link-local addresses are refused (webhooks.targets).
WEBHOOK_BLOCK_PRIVATE_TARGETS = True
