"""Settings shared by every environment, with embedded defaults for development.

With no environment at all the project runs on SQLite with Celery tasks executed in-process
(eagerly), against the sandbox: ``make demo`` needs no service. Production overrides live in
``production.py`` and refuse to start without their required variables.
"""

from __future__ import annotations

from pathlib import Path

from config.env import env, fail_fast, parse_budget, parse_terms, validate
from config.logging import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-secret-key-change-me")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_results",
    "axes",
    "corsheaders",
    "api",
    "audit",
    "courses",
    "provisioning",
    "webhooks",
    "imports",
    "sandbox",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.logging.RequestIdMiddleware",
    # Before CommonMiddleware, as django-cors-headers asks; inert while CORS_ALLOWED_ORIGINS is
    # empty (the default): no browser on another origin may call the API.
    "corsheaders.middleware.CorsMiddleware",
    "api.middleware.ChunkedBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: answers locked-out sign-ins
]

# --- Admin sign-in: locked after repeated failures (django-axes) ------------------------------
# A (username, address) pair that fails this many times is locked out for the cool-off time;
# lockouts are listed in the admin (Axes -> Access attempts), where a superuser can lift them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("ADMIN_LOGIN_LOCKOUT_MINUTES", default=30.0) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no banner on every manage.py command; lockouts are logged all the same

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The admin overrides live in the config package, so that an installed copy has them.
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# SQLite by default: the demo and the quick tests need no service. Production uses PostgreSQL.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Requests, background provisioning threads and the in-process sandbox write concurrently:
    # - WAL lets readers go on while one connection writes;
    # - IMMEDIATE takes the write lock when a transaction begins, so that two transactions never
    #   both read and then fail to upgrade to writing ("database is locked" at once, which no
    #   timeout can cure); they queue on the lock instead, up to the busy timeout (20 s).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Celery ---------------------------------------------------------------------------------
# No broker configured means "run tasks in-process": the embedded default for development.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Where provisioning runs (config.celery.execution_mode): a Celery worker when a broker is set;
# otherwise a background thread of the web process, so that requests answer at once. "inline"
# (in the caller, before course_create returns) is for the test suite and the demo.
PROVISIONING_EXECUTION = "celery" if CELERY_BROKER_URL else "background"
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing gives up fast when the broker is down: the course stays PENDING, the request
# answers, and the recovery sweep enqueues the course later.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Redis redelivers an unacknowledged message after this many seconds; it must exceed the
# longest run, or a slow run is delivered twice (harmless, steps are idempotent, but wasteful).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 60)
}

# --- Integrations ---------------------------------------------------------------------------
# "sandbox" talks to the bundled fake Discord and GitHub; "live" to the real platforms.
INTEGRATIONS_MODE = env.str("INTEGRATIONS_MODE", default="sandbox")
SANDBOX_URL = env.str("SANDBOX_URL", default="http://127.0.0.1:8001").rstrip("/")
_sandbox = INTEGRATIONS_MODE == "sandbox"

DISCORD_API_URL = env.str(
    "DISCORD_API_URL",
    default=f"{SANDBOX_URL}/discord/api/v10" if _sandbox else "https://discord.com/api/v10",
).rstrip("/")
DISCORD_BOT_TOKEN = env.str(
    "DISCORD_BOT_TOKEN", default="sandbox-discord-token" if _sandbox else ""
)
DISCORD_APPLICATION_ID = env.str(
    "DISCORD_APPLICATION_ID", default="100000000000000001" if _sandbox else ""
)
GITHUB_API_URL = env.str(
    "GITHUB_API_URL",
    default=f"{SANDBOX_URL}/github/api/v3" if _sandbox else "https://api.github.com",
).rstrip("/")
GITHUB_TOKEN = env.str("GITHUB_TOKEN", default="sandbox-github-token" if _sandbox else "")
GITHUB_ORG = env.str("GITHUB_ORG", default="sandbox-university" if _sandbox else "")
# A GitHub App installed on each organization, instead of GITHUB_TOKEN (integrations.github.app).
GITHUB_APP_ID = env.str("GITHUB_APP_ID", default="")
GITHUB_APP_PRIVATE_KEY = env.str("GITHUB_APP_PRIVATE_KEY", default="").replace("\\n", "\n")
GITHUB_APP_PRIVATE_KEY_FILE = env.str("GITHUB_APP_PRIVATE_KEY_FILE", default="")
if GITHUB_APP_PRIVATE_KEY_FILE and not GITHUB_APP_PRIVATE_KEY:
    try:
        GITHUB_APP_PRIVATE_KEY = Path(GITHUB_APP_PRIVATE_KEY_FILE).read_text()
    except OSError as exc:
        fail_fast(f"GITHUB_APP_PRIVATE_KEY_FILE cannot be read: {exc}")
if GITHUB_APP_ID and not GITHUB_APP_PRIVATE_KEY:
    fail_fast("GITHUB_APP_ID is set: set GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE")
if GITHUB_APP_PRIVATE_KEY and "PRIVATE KEY-----" not in GITHUB_APP_PRIVATE_KEY:
    fail_fast(
        "GITHUB_APP_PRIVATE_KEY is malformed: expected the app's PEM private key "
        "(-----BEGIN RSA PRIVATE KEY----- ...; newlines may be written \\n)"
    )
# branch: one protection write per repository; ruleset: one organization ruleset per semester.
GITHUB_PROTECTION_MODE = env.str("GITHUB_PROTECTION_MODE", default="branch")
if GITHUB_PROTECTION_MODE not in ("branch", "ruleset"):
    fail_fast(
        "GITHUB_PROTECTION_MODE is malformed: expected branch or ruleset, "
        f"got {GITHUB_PROTECTION_MODE!r}"
    )
# The roster sync (provisioning.people). GitHub allows an organization 50 invitations per 24
# hours (500 once it is older than a month or on a paid plan); team memberships that invite count.
# The sync spends at most this many per organization per 24 hours, counted in our database across
# all workers and courses; the rest wait, visibly, and are sent when the window frees.
GITHUB_INVITATION_BUDGET = env.int("GITHUB_INVITATION_BUDGET", default=50)
if GITHUB_INVITATION_BUDGET < 1:
    fail_fast(
        "GITHUB_INVITATION_BUDGET is malformed: expected invitations per 24 hours, 1 or more, "
        f"got {GITHUB_INVITATION_BUDGET}"
    )
# What a lecture's students team may do in the lecture's repository.
LECTURE_STUDENT_PERMISSION = env.str("LECTURE_STUDENT_PERMISSION", default="pull")
if LECTURE_STUDENT_PERMISSION not in ("pull", "triage", "push"):
    fail_fast(
        "LECTURE_STUDENT_PERMISSION is malformed: expected pull, triage or push, "
        f"got {LECTURE_STUDENT_PERMISSION!r}"
    )
# How long the Discord invite links live, in seconds: 0 never expires (Discord: at most 7 days).
DISCORD_INVITE_MAX_AGE = env.int("DISCORD_INVITE_MAX_AGE", default=0)
if not 0 <= DISCORD_INVITE_MAX_AGE <= 604800:
    fail_fast(
        "DISCORD_INVITE_MAX_AGE is malformed: expected 0 (never) to 604800 seconds, "
        f"got {DISCORD_INVITE_MAX_AGE}"
    )

# What a tear down does with a course's repositories: delete them, or archive them (read-only,
# kept on GitHub with their history; the course's row keeps them as archived).
TEARDOWN_REPOSITORIES = env.str("TEARDOWN_REPOSITORIES", default="delete")
if TEARDOWN_REPOSITORIES not in ("delete", "archive"):
    fail_fast(
        "TEARDOWN_REPOSITORIES is malformed: expected delete or archive, "
        f"got {TEARDOWN_REPOSITORIES!r}"
    )

# Connect and read timeouts (seconds) of every call to Discord and GitHub.
INTEGRATIONS_HTTP_TIMEOUT = (
    env.float("INTEGRATIONS_CONNECT_TIMEOUT", default=5.0),
    env.float("INTEGRATIONS_READ_TIMEOUT", default=30.0),
)

# A read, or a write that is safe to repeat (a PUT, a git tree), is retried this many times by the
# client itself after a transient error, waiting delay * 2^n seconds; other writes go back to the
# step handler, which looks on the platform before writing again.
INTEGRATIONS_SAFE_RETRIES = env.int("INTEGRATIONS_SAFE_RETRIES", default=2)
INTEGRATIONS_SAFE_RETRY_DELAY = env.float("INTEGRATIONS_SAFE_RETRY_DELAY", default=0.5)

# GitHub writes (content-creating requests) of one token, paced across all workers: at most
# these many per window, and this far apart. GitHub publishes 80 a minute and 500 an hour.
GITHUB_WRITE_BUDGET = validate(
    "GITHUB_WRITE_BUDGET", env.str("GITHUB_WRITE_BUDGET", default="70/60,450/3600"), parse_budget
)
GITHUB_SECONDS_BETWEEN_WRITES = env.float(
    "GITHUB_SECONDS_BETWEEN_WRITES", default=0.0 if _sandbox else 1.0
)
# Discord's global limit is 50 requests a second per bot; stay under it.
DISCORD_GLOBAL_LIMIT = env.int("DISCORD_GLOBAL_LIMIT", default=45)
# Where workers share rate-limit state. Default: the broker when it is Redis; empty = in-process.
RATE_LIMIT_REDIS_URL = env.str(
    "RATE_LIMIT_REDIS_URL",
    default=CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)

# --- Courses -------------------------------------------------------------------------------
# The terms a semester may name: semesters are stored as YYYY-<term> (2026-fall), and the common
# spellings of one ("Fall 2026", "2026_FALL") are normalized to it (courses/semesters.py).
SEMESTER_TERMS = validate(
    "SEMESTER_TERMS", env.str("SEMESTER_TERMS", default="spring,summer,fall,winter"), parse_terms
)

# --- Provisioning ---------------------------------------------------------------------------
# A step failing with a transient error (429, 5xx, timeout) is tried again, waiting
# base * 2^(n-1) seconds (with jitter, never less than the platform's retry-after); it fails after
# this many attempts in a row that made no progress.
PROVISIONING_MAX_ATTEMPTS = env.int("PROVISIONING_MAX_ATTEMPTS", default=5)
PROVISIONING_RETRY_BASE_SECONDS = env.float("PROVISIONING_RETRY_BASE_SECONDS", default=5.0)
# A wait longer than this is not slept through in a worker: the task is re-scheduled instead.
PROVISIONING_MAX_INLINE_WAIT_SECONDS = env.float(
    "PROVISIONING_MAX_INLINE_WAIT_SECONDS", default=60.0
)
# A run holding a course must prove it is alive this often, or another run may take over.
PROVISIONING_LEASE_SECONDS = env.int("PROVISIONING_LEASE_SECONDS", default=180)
# The recovery sweep (Celery beat) runs this often, and re-enqueues unclaimed unfinished courses
# that nothing touched for the grace period (message lost, or broker down at creation).
PROVISIONING_RECOVERY_INTERVAL_SECONDS = env.int(
    "PROVISIONING_RECOVERY_INTERVAL_SECONDS", default=60
)
PROVISIONING_RECOVERY_GRACE_SECONDS = env.int("PROVISIONING_RECOVERY_GRACE_SECONDS", default=600)
# Mark protection steps SKIPPED (with the reason) when the GitHub plan cannot protect private
# repositories, instead of failing the course.
PROVISIONING_SKIP_UNAVAILABLE_PROTECTION = env.bool(
    "PROVISIONING_SKIP_UNAVAILABLE_PROTECTION", default=False
)
# Fewer available pool servers than this is a warning (`discord_servers list`, `preflight`, the
# admin's home page): staff should make more before the courses that need them are created.
POOL_LOW_WATERMARK = env.int("POOL_LOW_WATERMARK", default=2)
if POOL_LOW_WATERMARK < 0:
    fail_fast(f"POOL_LOW_WATERMARK is malformed: expected 0 or more, got {POOL_LOW_WATERMARK}")
# Scheduled verify (provisioning.schedule): every VERIFY_SWEEP_SECONDS, beat (or the web
# process's sweeper without a broker) starts a VERIFY of at most VERIFY_BATCH_PER_TICK live,
# completed, idle courses last checked more than VERIFY_INTERVAL_HOURS ago, oldest first, so that
# the reads of a whole semester spread out under the platforms' read budgets. 0 hours: off.
VERIFY_INTERVAL_HOURS = env.float("VERIFY_INTERVAL_HOURS", default=24.0)
VERIFY_BATCH_PER_TICK = env.int("VERIFY_BATCH_PER_TICK", default=20)
VERIFY_SWEEP_SECONDS = env.int("VERIFY_SWEEP_SECONDS", default=300)
if VERIFY_INTERVAL_HOURS < 0:
    fail_fast(
        f"VERIFY_INTERVAL_HOURS is malformed: expected 0 (off) or more, got {VERIFY_INTERVAL_HOURS}"
    )
if VERIFY_BATCH_PER_TICK < 1 or VERIFY_SWEEP_SECONDS < 1:
    fail_fast(
        "VERIFY_BATCH_PER_TICK and VERIFY_SWEEP_SECONDS are malformed: expected 1 or more, got "
        f"{VERIFY_BATCH_PER_TICK} and {VERIFY_SWEEP_SECONDS}"
    )

# --- API ------------------------------------------------------------------------------------
# A bootstrap key accepted besides the keys made with `manage.py create_api_key` or the admin.
API_KEY = env.str("API_KEY", default="")
# Requests per client (API key, or staff user) and period: N/s, N/min, N/hour, N/day; empty = off.
API_THROTTLE_RATE = env.str("API_THROTTLE_RATE", default="600/min")
# Courses PENDING or IN_PROGRESS that one API key may have at once (0 = no cap); past it, 429.
API_MAX_ACTIVE_COURSES_PER_KEY = env.int("API_MAX_ACTIVE_COURSES_PER_KEY", default=50)
API_ACTIVE_COURSES_RETRY_AFTER = 30  # seconds, sent as Retry-After with that 429
# Requests with a wrong or revoked API key allowed per client address and period; past it, 429.
API_AUTH_FAILURE_RATE = env.str("API_AUTH_FAILURE_RATE", default="20/min")
# How many proxies in front of us append to X-Forwarded-For: 0 = use the connection's address
# (the header, which anyone can send, is ignored); 1 behind one reverse proxy.
API_NUM_PROXIES = env.int("API_NUM_PROXIES", default=0)
# Largest JSON body accepted (bytes); a course with 50 lab groups is under 8 KiB.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=64 * 1024)
# How long a response is kept for replay to a request with the same Idempotency-Key.
API_IDEMPOTENCY_TTL_HOURS = env.int("API_IDEMPOTENCY_TTL_HOURS", default=24)
# GET /health gives up on the broker after this many seconds.
API_HEALTH_BROKER_TIMEOUT = env.float("API_HEALTH_BROKER_TIMEOUT", default=2.0)

# --- CORS: a browser-based LMS plug-in on these origins may call the API (django-cors-headers) --
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = ["accept", "content-type", "x-api-key", "idempotency-key", "x-request-id"]
CORS_EXPOSE_HEADERS = ["Location", "Retry-After", "Idempotent-Replayed", "X-Request-ID"]
CORS_URLS_REGEX = r"^/(?!admin/).*$"  # the API, never the admin (cookies, forms)

# --- Webhooks (webhooks/) ---------------------------------------------------------------------
# Refuse targets resolving to loopback, private or link-local addresses (SSRF); production turns
# it on. Host names in WEBHOOK_ALLOWED_HOSTS are allowed all the same.
WEBHOOK_BLOCK_PRIVATE_TARGETS = False
WEBHOOK_ALLOWED_HOSTS = env.list("WEBHOOK_ALLOWED_HOSTS", default=[])
# Attempts back off from this many seconds, doubling (at most an hour apart), for this long.
WEBHOOK_RETRY_BASE_SECONDS = env.float("WEBHOOK_RETRY_BASE_SECONDS", default=30.0)
WEBHOOK_RETRY_HOURS = env.float("WEBHOOK_RETRY_HOURS", default=24.0)
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# How often beat looks for deliveries whose next attempt is due (with a broker).
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=30)

# --- Metrics: /metrics for Prometheus; 404 unless a token or an address list is set ------------
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # staff, from /api/docs
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasApiKeyOrIsStaff"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.ApiKeyRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PageNumberPagination",
    "EXCEPTION_HANDLER": "api.exceptions.api_exception_handler",
    # The client address of throttles: X-Forwarded-For only as far as our own proxies wrote it.
    "NUM_PROXIES": API_NUM_PROXIES,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Course provisioning API",
    "DESCRIPTION": "Create courses and follow the provisioning of their Discord and GitHub spaces.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CourseStatusEnum": "courses.models.Course.Status",
        "StepStatusEnum": "provisioning.models.ProvisioningStep.Status",
        "ResourceStateEnum": "provisioning.models.ExternalResource.State",
        "WebhookDeliveryStatusEnum": "webhooks.models.WebhookDelivery.Status",
        "ImportStatusEnum": "imports.models.Import.Status",
        "OperationKindEnum": "provisioning.models.Operation.Kind",
    },
}

LOGGING = logging_config(json_lines=False, level=env.str("LOG_LEVEL", default="INFO").upper())
