"""Settings for the test suite: fast hashing, in-process tasks unless a test starts a worker."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

SECRET_KEY = "test-secret-key"
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that the sandbox and runner threads see the same database.
    DATABASES["default"]["TEST"] = {"NAME": "test-db.sqlite3"}
