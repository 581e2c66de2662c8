"""Production settings: PostgreSQL, a real broker, live integrations, hardened HTTP.

Every required variable is checked here, at start-up, by :func:`config.env.require`: a missing or
malformed one stops the process with one line naming it.
"""

import environ

from config.env import env, fail_fast, parse_list, parse_url, require
from config.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = require("SECRET_KEY", hint="a long random string, e.g. from `openssl rand -hex 32`")
if len(SECRET_KEY) < 32:
    fail_fast("SECRET_KEY is malformed: use at least 32 random characters")

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
    GITHUB_TOKEN = require("GITHUB_TOKEN", hint="a token with admin rights on GITHUB_ORG")
    GITHUB_ORG = require("GITHUB_ORG", hint="the organization that will own course repositories")

ALLOWED_HOSTS = require("ALLOWED_HOSTS", parse_list, hint="comma-separated host names")
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=[f"https://{h}" for h in ALLOWED_HOSTS]
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
