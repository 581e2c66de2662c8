"""Settings for the test suite: fast hashing, in-process tasks unless a test starts a worker."""

import os
import tempfile
from pathlib import Path

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

SECRET_KEY = "test-secret-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
PROVISIONING_EXECUTION = "inline"  # tests that need the background thread say so
CELERY_BROKER_URL = "memory://"
PROVISIONING_RETRY_BASE_SECONDS = 0.01  # backoff shape, not duration, is what tests check
INTEGRATIONS_SAFE_RETRY_DELAY = 0.01
RATE_LIMIT_REDIS_URL = ""  # in-process limits, forgotten between tests (tests/conftest.py)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that threads in a test see the same database and wait for each
    # other's locks; one per process, so that two test runs on one machine never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"course-provisioning-test-{os.getpid()}.sqlite3")
    }
