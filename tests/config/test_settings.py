"""Settings: production refuses to start half-configured; development needs no environment.

Each case runs ``manage.py check`` in its own interpreter (settings are read once per process).
They are all started at once by a module fixture, in a small thread pool, and each test only waits
for its own result: the module takes about as long as its slowest few cases, not their sum.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.config.helpers import (
    EVERY_VARIABLE,
    PRODUCTION,
    REQUIRED_LIVE,
    ROOT,
    clean_env,
    run_python,
)

UNSET = None

# id -> (changes to the fully configured live environment (UNSET removes), name the error must say).
# How each type of value is parsed is tested in-process in test_env.py; these are end to end.
FAILURES: dict[str, tuple[dict[str, str | None], str]] = {
    **{
        f"missing-{name}": ({name: UNSET}, name)
        for name in REQUIRED_LIVE
        if name != "INTEGRATIONS_MODE"
    },
    "short-SECRET_KEY": ({"SECRET_KEY": "too-short-for-production"}, "SECRET_KEY"),
    "mysql-DATABASE_URL": ({"DATABASE_URL": "mysql://user:pw@db:3306/app"}, "DATABASE_URL"),
    "nonsense-DATABASE_URL": ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
    "nonsense-CELERY_BROKER_URL": ({"CELERY_BROKER_URL": "nonsense"}, "CELERY_BROKER_URL"),
    "empty-ALLOWED_HOSTS": ({"ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS"),
    "abc-DISCORD_APPLICATION_ID": ({"DISCORD_APPLICATION_ID": "abc"}, "DISCORD_APPLICATION_ID"),
    "foo-INTEGRATIONS_MODE": ({"INTEGRATIONS_MODE": "foo"}, "INTEGRATIONS_MODE"),
    "abc-CONN_MAX_AGE": ({"CONN_MAX_AGE": "abc"}, "CONN_MAX_AGE"),
    "typo-SECURE_SSL_REDIRECT": ({"SECURE_SSL_REDIRECT": "ture"}, "SECURE_SSL_REDIRECT"),
    "zero-INTEGRATIONS_READ_TIMEOUT": (
        {"INTEGRATIONS_READ_TIMEOUT": "0"},
        "INTEGRATIONS_READ_TIMEOUT",
    ),
    "soft-above-hard-time-limit": (
        {"CELERY_TASK_SOFT_TIME_LIMIT": "900"},
        "CELERY_TASK_SOFT_TIME_LIMIT",
    ),
    "visibility-below-time-limit": (
        {"CELERY_VISIBILITY_TIMEOUT": "600"},
        "CELERY_VISIBILITY_TIMEOUT",
    ),
    "loud-LOG_LEVEL": ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
    "digit-SEMESTER_TERMS": ({"SEMESTER_TERMS": "fall,q1"}, "SEMESTER_TERMS"),
    "star-ALLOWED_HOSTS": ({"ALLOWED_HOSTS": "courses.example.edu,*"}, "ALLOWED_HOSTS"),
    "short-API_KEY": ({"API_KEY": "abc"}, "API_KEY"),
    "zero-API_MAX_BODY_BYTES": ({"API_MAX_BODY_BYTES": "0"}, "API_MAX_BODY_BYTES"),
    "negative-API_MAX_BODY_BYTES": ({"API_MAX_BODY_BYTES": "-1"}, "API_MAX_BODY_BYTES"),
    "ftp-GITHUB_API_URL": ({"GITHUB_API_URL": "ftp://api.github.com"}, "GITHUB_API_URL"),
    "app-without-key": ({"GITHUB_APP_ID": "123"}, "GITHUB_APP_PRIVATE_KEY"),
    "app-key-not-pem": (
        {"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY": "not a key"},
        "GITHUB_APP_PRIVATE_KEY",
    ),
    "unreadable-GITHUB_APP_PRIVATE_KEY_FILE": (
        {"GITHUB_APP_ID": "123", "GITHUB_APP_PRIVATE_KEY_FILE": "/nonexistent/app.pem"},
        "GITHUB_APP_PRIVATE_KEY_FILE",
    ),
    "bad-GITHUB_PROTECTION_MODE": ({"GITHUB_PROTECTION_MODE": "rules"}, "GITHUB_PROTECTION_MODE"),
    "bad-TEARDOWN_REPOSITORIES": ({"TEARDOWN_REPOSITORIES": "purge"}, "TEARDOWN_REPOSITORIES"),
    "bad-SANDBOX_URL": (
        {"INTEGRATIONS_MODE": "sandbox", "SANDBOX_URL": "sandbox:8001"},
        "SANDBOX_URL",
    ),
}

# id -> (environment, arguments of manage.py): configurations that must pass.
PASSES: dict[str, tuple[dict[str, str], list[str]]] = {
    # Every variable set: the deploy checklist has nothing to say.
    "deploy-every-variable": (EVERY_VARIABLE, ["check", "--deploy"]),
    # A GitHub App instead of a token: GITHUB_TOKEN is not required.
    "github-app-without-token": (
        {
            **{k: v for k, v in REQUIRED_LIVE.items() if k != "GITHUB_TOKEN"},
            "DJANGO_SETTINGS_MODULE": PRODUCTION,
            "GITHUB_APP_ID": "123",
            "GITHUB_APP_PRIVATE_KEY": EVERY_VARIABLE["GITHUB_APP_PRIVATE_KEY"],
        },
        ["check", "--deploy"],
    ),
    # Only the required ones: the defaults are production-grade too.
    "deploy-required-only": (
        {**REQUIRED_LIVE, "DJANGO_SETTINGS_MODULE": PRODUCTION},
        ["check", "--deploy"],
    ),
    # docker compose: sandbox mode needs no platform credential.
    "sandbox-mode-without-credentials": (
        {
            "DJANGO_SETTINGS_MODULE": PRODUCTION,
            "INTEGRATIONS_MODE": "sandbox",
            "SANDBOX_URL": "http://sandbox:8001",
            **{k: REQUIRED_LIVE[k] for k in ("SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL")},
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
        },
        ["check"],
    ),
}


def _failure_env(changes: dict[str, str | None]) -> dict[str, str]:
    variables = {**REQUIRED_LIVE, "DJANGO_SETTINGS_MODULE": PRODUCTION, **changes}
    return clean_env(**{k: v for k, v in variables.items() if v is not UNSET})


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    """Start every case at once; a test waits only for its own."""
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {
            case: pool.submit(run_python, ["manage.py", "check"], _failure_env(changes))
            for case, (changes, _) in FAILURES.items()
        }
        futures.update(
            {
                case: pool.submit(run_python, ["manage.py", *args], clean_env(**env))
                for case, (env, args) in PASSES.items()
            }
        )
        yield futures


@pytest.mark.parametrize("case", list(FAILURES))
def test_production_refuses_to_start_with_one_line_naming_the_variable(
    case: str, runs: dict[str, Future[subprocess.CompletedProcess[str]]]
) -> None:
    result = runs[case].result()
    _, name = FAILURES[case]
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback, no warning
    assert name in lines[0]
    assert lines[0].startswith("configuration error:")


@pytest.mark.parametrize("case", list(PASSES))
def test_production_configurations_that_pass(
    case: str, runs: dict[str, Future[subprocess.CompletedProcess[str]]]
) -> None:
    result = runs[case].result()
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout + result.stderr
    assert result.stderr == ""


def test_a_malformed_database_url_does_not_leak_its_password() -> None:
    # django-environ warns about unknown schemes by printing the parsed config, password included.
    env = _failure_env({"DATABASE_URL": "postgress://app:hunter2-secret@db:5432/app"})
    result = run_python(["manage.py", "check"], env)
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_base_settings_need_no_environment() -> None:
    """The embedded defaults: SQLite and in-process Celery, so `make demo` needs no service."""
    code = (
        "import json, django\n"
        "from django.conf import settings\n"
        "django.setup()\n"
        "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'],"
        " 'eager': settings.CELERY_TASK_ALWAYS_EAGER, 'mode': settings.INTEGRATIONS_MODE,"
        " 'debug': settings.DEBUG}))\n"
    )
    result = run_python(["-c", code], clean_env(DJANGO_SETTINGS_MODULE="config.settings.base"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "engine": "django.db.backends.sqlite3",
        "eager": True,
        "mode": "sandbox",
        "debug": True,
    }


def test_production_defaults_are_live_ones() -> None:
    """Base picks defaults by its own default mode (sandbox); production must not inherit them."""
    code = (
        "import json, django\n"
        "from django.conf import settings as s\n"
        "django.setup()\n"
        "print(json.dumps({'mode': s.INTEGRATIONS_MODE, 'discord': s.DISCORD_API_URL,"
        " 'github': s.GITHUB_API_URL, 'pause': s.GITHUB_SECONDS_BETWEEN_WRITES,"
        " 'eager': s.CELERY_TASK_ALWAYS_EAGER, 'debug': s.DEBUG,"
        " 'csrf': s.CSRF_TRUSTED_ORIGINS, 'level': s.LOGGING['root']['level']}))\n"
    )
    variables = {**REQUIRED_LIVE, "DJANGO_SETTINGS_MODULE": PRODUCTION, "LOG_LEVEL": "warning"}
    del variables["INTEGRATIONS_MODE"]
    variables["ALLOWED_HOSTS"] = "courses.example.edu,.lab.example.edu"
    result = run_python(["-c", code], clean_env(**variables))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "mode": "live",
        "discord": "https://discord.com/api/v10",
        "github": "https://api.github.com",
        "pause": 1.0,
        "eager": False,
        "debug": False,
        "csrf": ["https://courses.example.edu", "https://*.lab.example.edu"],
        "level": "WARNING",
    }


def _variables_read_in_config() -> set[str]:
    # env.str("X"...), require("X"...), and os.environ.get("X"...) / os.environ["X"] (gunicorn's
    # config file reads the environment before Django exists).
    pattern = re.compile(
        r"""(?:\benv\.\w+\(|\benv\(|\brequire\(|os\.environ\.get\(|os\.environ\[)"""
        r"""\s*["']([A-Z][A-Z0-9_]*)["']"""
    )
    names = {"DJANGO_SETTINGS_MODULE"}  # read by manage.py, wsgi.py and celery.py
    for path in (ROOT / "config").rglob("*.py"):
        names.update(pattern.findall(path.read_text()))
    return names


def test_every_variable_read_in_config_is_documented_and_tested() -> None:
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE)
    )
    read = _variables_read_in_config()
    assert {"SECRET_KEY", "DATABASE_URL", "GITHUB_SECONDS_BETWEEN_WRITES"} <= read  # sanity
    assert read - documented == set(), "document these in .env.example"
    assert read - set(EVERY_VARIABLE) == set(), "add these to EVERY_VARIABLE in helpers.py"
