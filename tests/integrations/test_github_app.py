"""The GitHub client as an App installation: tokens renewed early, audited, never logged."""

from __future__ import annotations

import time

import pytest

from audit.models import AuditLog
from integrations.github.app import installation_auths_clear, installation_limit_key
from provisioning.context import github_client
from tests.conftest import ORG
from tests.integrations.github_app_keys import APP_ID, use_github_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    installation_auths_clear()
    yield
    installation_auths_clear()


def test_token_exchange_is_audited_without_the_token(platforms, settings):
    use_github_app(platforms, settings)
    client = github_client()
    assert client.get_org()["login"] == ORG
    routes = list(AuditLog.objects.values_list("method", "route"))
    assert ("GET", "/orgs/{org}/installation") in routes
    assert ("POST", "/app/installations/{id}/access_tokens") in routes or any(
        route.endswith("/access_tokens") for _, route in routes
    )
    token = client.auth.token
    for row in AuditLog.objects.all():
        assert token not in row.response_excerpt and "ghs_" not in row.response_excerpt
        assert "eyJ" not in row.url + row.response_excerpt


def test_one_token_per_organization_is_shared_by_clients_and_renewed_early(platforms, settings):
    use_github_app(platforms, settings, token_lifetime=4)
    first, second = github_client(), github_client()
    assert first.auth is second.auth  # a step does not buy a token of its own
    token = first.auth.token
    assert second.auth.token == token and first.auth.refreshes == 1
    time.sleep(3.2)  # past 3/4 of its life: renewed before it expires
    assert first.auth.token != token and first.auth.refreshes == 2


def test_installation_budgets_are_keyed_by_organization(platforms, settings):
    use_github_app(platforms, settings)
    assert installation_limit_key(str(APP_ID), "Dept-A") == f"github:app:{APP_ID}:org:dept-a"
    assert installation_limit_key(str(APP_ID), "a") != installation_limit_key(str(APP_ID), "b")


def test_a_missing_installation_is_a_clear_permanent_error(platforms, settings):
    from integrations.errors import PermanentError

    use_github_app(platforms, settings)
    client = github_client(org="nowhere-org")
    with pytest.raises(PermanentError, match="not installed on the organization nowhere-org"):
        client.get_org()
