"""docker-compose.yml and the Dockerfile, checked without Docker (no engine on CI machines)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from tests.config.helpers import ROOT, clean_env, run_python

APP_SERVICES = ("web", "worker", "beat", "sandbox")


def _interpolate(value: Any) -> Any:
    """Compose's ${NAME:-default} with nothing set: the defaults, as on a fresh checkout."""
    if isinstance(value, str):
        if re.search(r"\$\{(?![A-Z0-9_]+:-)", value):
            raise AssertionError(f"a variable without default would be empty: {value}")
        return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)
    if isinstance(value, dict):
        return {key: _interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item) for item in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _interpolate(yaml.safe_load((ROOT / "docker-compose.yml").read_text()))


def _command(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_services_share_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    images = {services[name]["image"] for name in APP_SERVICES}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in APP_SERVICES)


def test_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    web = _command(services["web"])
    assert web.index("manage.py migrate") < web.index("gunicorn --config config/gunicorn.py")
    assert "celery -A config worker" in _command(services["worker"])
    assert "celery -A config beat" in _command(services["beat"])
    assert "manage.py run_sandbox --host 0.0.0.0" in _command(services["sandbox"])


def test_data_services_have_healthchecks_the_app_waits_for(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert "pg_isready" in str(services["postgres"]["healthcheck"]["test"])
    assert "redis-cli" in str(services["redis"]["healthcheck"]["test"])
    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"


def test_app_services_run_production_settings_against_the_sandbox(compose: dict[str, Any]) -> None:
    for name in ("web", "worker", "beat"):
        env = compose["services"][name]["environment"]
        assert env["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
        assert env["INTEGRATIONS_MODE"] == "sandbox"
        assert env["SANDBOX_URL"] == "http://sandbox:8001"
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY"] and env["ALLOWED_HOSTS"]


def test_production_settings_accept_the_compose_environment(compose: dict[str, Any]) -> None:
    env = {key: str(value) for key, value in compose["services"]["web"]["environment"].items()}
    result = run_python(["manage.py", "check"], clean_env(**env))
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_dockerfile() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "FROM python:3.11-slim" in dockerfile
    assert "pip install --no-deps ." in dockerfile
    assert "collectstatic --noinput" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
