"""A GitHub App with short-lived tokens, courses in several organizations, semester rulesets."""

from __future__ import annotations

import pytest
import requests

from courses.models import Course
from courses.services import CourseAlreadyExistsError, course_check
from integrations.github.app import installation_auths_clear
from provisioning.context import github_client
from provisioning.models import ExternalResource
from tests.conftest import ORG
from tests.integrations.github_app_keys import use_github_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_cached_tokens():
    installation_auths_clear()
    yield
    installation_auths_clear()


def _github_log(platforms):
    return [entry for entry in platforms.requests("github")]


def test_run_longer_than_a_token_life_completes_with_no_401_reaching_a_step(
    platforms, provision, settings, monkeypatch
):
    use_github_app(platforms, settings, token_lifetime=2)
    platforms.add_servers(1)
    # Make the run outlive several tokens: every GitHub request takes a little while.
    import integrations.github.audited as audited

    original = audited._AuditedMixin.getresponse

    def slow(self):
        import time

        time.sleep(0.25)
        return original(self)

    monkeypatch.setattr(audited._AuditedMixin, "getresponse", slow)
    course = provision(name="Compilers", type="LABORATORY", groups=("A", "B", "C"))
    assert course.status == Course.Status.COMPLETED
    assert all(step.attempts == 1 for step in course.steps.all())
    log = _github_log(platforms)
    token_grants = [e for e in log if e["path"].endswith("/access_tokens")]
    assert len(token_grants) >= 3  # renewed during the run
    assert not [e for e in log if e["status"] == 401]  # renewed before expiry, never refused
    assert [e for e in log if "/orgs/test-university/installation" in e["path"]]


def test_an_expired_token_is_renewed_and_the_call_sent_again(platforms, settings):
    use_github_app(platforms, settings, token_lifetime=3600)
    client = github_client()
    assert client.get_org()["login"] == ORG
    # The sandbox forgets every token (as after an expiry the client could not foresee).
    platforms.control.configure(github={"app": None})
    use_github_app(platforms, settings)  # same app again, no token known
    client.auth._renew_at = 1e12  # the client believes its token is fresh
    assert client.get_org()["login"] == ORG  # 401 -> renewed -> answered


def test_each_installation_has_its_own_budget_key(platforms, settings):
    use_github_app(platforms, settings)
    platforms.control.create_org("dept-physics", plan="team")
    one, two = github_client(), github_client(org="dept-physics")
    assert one.auth is not two.auth
    assert one.org == ORG and two.org == "dept-physics"
    token_one, token_two = one.auth.token, two.auth.token
    assert token_one != token_two
    # The sandbox counts each installation's requests apart.
    headers = {"Authorization": f"token {token_two}"}
    answer = requests.get(f"{settings.GITHUB_API_URL}/orgs/dept-physics", headers=headers)
    assert answer.status_code == 200
    used_two = int(answer.headers["x-ratelimit-used"])
    answer = requests.get(
        f"{settings.GITHUB_API_URL}/orgs/{ORG}", headers={"Authorization": f"token {token_one}"}
    )
    assert int(answer.headers["x-ratelimit-used"]) == 1 and used_two == 1


def test_token_auth_still_works_without_an_app(platforms, provision):
    platforms.add_servers(1)
    course = provision(name="Databases")
    assert course.status == Course.Status.COMPLETED
    assert not [e for e in _github_log(platforms) if "access_tokens" in e["path"]]


def test_course_in_another_organization_gets_its_repository_there(platforms, provision, settings):
    use_github_app(platforms, settings)
    platforms.control.create_org("dept-physics", plan="team")
    platforms.add_servers(2)
    here = provision(name="Optics")
    there = provision(name="Optics Lab", github_org="Dept-Physics")
    assert there.github_org == "dept-physics"
    assert (here.status, there.status) == (Course.Status.COMPLETED, Course.Status.COMPLETED)
    repos = platforms.state()["github"]["repos"]
    assert f"{ORG}/2026-fall-optics" in repos
    assert "dept-physics/2026-fall-optics-lab" in repos


def test_repository_name_clash_is_per_organization(platforms, provision, settings):
    platforms.add_servers(1)
    provision(name="Algorithms")
    same_org = course_check(name="algorithms!", semester="2026-fall", type="LECTURE")
    assert isinstance(same_org.conflicts[0], CourseAlreadyExistsError)
    spelled = course_check(
        name="algorithms!", semester="2026-fall", type="LECTURE", github_org=ORG.upper()
    )
    assert spelled.conflicts and spelled.github_org == ""  # GITHUB_ORG however spelled
    other = course_check(
        name="algorithms!", semester="2026-fall", type="LECTURE", github_org="dept-cs"
    )
    assert other.conflicts == [] and other.errors == {}


def test_an_invalid_organization_is_a_field_error(platforms):
    found = course_check(name="X", semester="2026-fall", type="LECTURE", github_org="-bad-")
    assert "github_org" in found.errors


# -- rulesets -------------------------------------------------------------------------------


def _rulesets(settings, org=ORG):
    answer = requests.get(
        f"{settings.GITHUB_API_URL}/orgs/{org}/rulesets",
        headers={"Authorization": "token sandbox-github-token"},
    )
    return answer.status_code, answer.json()


def test_ruleset_mode_makes_one_ruleset_per_semester_and_no_protection_writes(
    platforms, provision, settings
):
    settings.GITHUB_PROTECTION_MODE = "ruleset"
    platforms.add_servers(3)
    first = provision(name="Algorithms")
    second = provision(name="Networks", type="LABORATORY", groups=("A", "B"))
    other_term = provision(name="Graphics", semester="2027-spring")
    for course in (first, second, other_term):
        assert course.status == Course.Status.COMPLETED
    status, rulesets = _rulesets(settings)
    assert status == 200
    assert sorted(r["name"] for r in rulesets) == [
        "course-provisioning 2026-fall",
        "course-provisioning 2027-spring",
    ]
    log = _github_log(platforms)
    writes = [e for e in log if e["method"] != "GET"]
    assert not [e for e in writes if "/protection" in e["path"]]
    assert len([e for e in writes if e["path"].endswith("/rulesets")]) == 2
    # 4 writes per repository (create, tree, commit, ref) plus one per semester.
    assert len(writes) == 4 * 4 + 2
    protections = ExternalResource.objects.filter(kind="protection", course=second)
    assert {p.data["ruleset"] for p in protections} == {"course-provisioning 2026-fall"}


def test_ruleset_found_by_name_is_not_made_again(platforms, provision, settings):
    settings.GITHUB_PROTECTION_MODE = "ruleset"
    platforms.add_servers(2)
    provision(name="Algorithms")
    from integrations.ratelimit import _store_for

    _store_for.cache_clear()  # another worker, nothing remembered
    provision(name="Networks")
    assert len(_rulesets(settings)[1]) == 1


def test_sandbox_enforces_the_ruleset_on_ref_updates(platforms, provision, settings):
    settings.GITHUB_PROTECTION_MODE = "ruleset"
    platforms.add_servers(1)
    provision(name="Algorithms")
    api, repo = settings.GITHUB_API_URL, f"{ORG}/2026-fall-algorithms"
    headers = {"Authorization": "token sandbox-github-token"}
    head = requests.get(f"{api}/repos/{repo}/git/ref/heads/main", headers=headers).json()
    commit = requests.get(
        f"{api}/repos/{repo}/git/commits/{head['object']['sha']}", headers=headers
    ).json()
    parent = commit["parents"][0]["sha"]
    forced = requests.patch(
        f"{api}/repos/{repo}/git/refs/heads/main",
        json={"sha": parent, "force": True},
        headers=headers,
    )
    assert forced.status_code == 422 and "Cannot force-push" in forced.json()["message"]
    deleted = requests.delete(f"{api}/repos/{repo}/git/refs/heads/main", headers=headers)
    assert deleted.status_code == 422 and "Cannot delete" in deleted.json()["message"]
    # Repositories of another semester are not covered.
    assert requests.get(f"{api}/repos/{repo}", headers=headers).status_code == 200


def test_free_plan_falls_back_to_branch_protection_and_remembers_it(platforms, provision, settings):
    settings.GITHUB_PROTECTION_MODE = "ruleset"
    settings.PROVISIONING_SKIP_UNAVAILABLE_PROTECTION = True
    platforms.control.create_org("free-dept", plan="free")
    platforms.add_servers(2)
    first = provision(name="Algorithms", github_org="free-dept")
    second = provision(name="Networks", github_org="free-dept")
    log = _github_log(platforms)
    assert _rulesets(settings, "free-dept")[0] == 403
    asked = [e for e in log if e["path"].endswith("/orgs/free-dept/rulesets")]
    assert len(asked) == 1  # remembered: the second course does not ask again
    # Fallen back on per-repository protection (which the free plan refuses too: skipped).
    assert [e for e in log if "/protection" in e["path"]]
    for course in (first, second):
        assert course.status == Course.Status.COMPLETED
        step = course.steps.get(name="APPLY_BRANCH_PROTECTION")
        assert step.status == "SKIPPED"


@pytest.mark.django_db(transaction=True)  # the command's run starts on commit
def test_the_command_line_takes_the_organization(platforms):
    from io import StringIO

    from django.core.management import call_command

    platforms.control.create_org("dept-math", plan="team")
    platforms.add_servers(1)
    call_command(
        "provision_course",
        "--name=Topology",
        "--semester=2026-fall",
        "--type=lecture",
        "--github-org=dept-math",
        stdout=StringIO(),
    )
    course = Course.objects.get(name="Topology")
    assert course.github_org == "dept-math" and course.status == Course.Status.COMPLETED
    assert "dept-math/2026-fall-topology" in platforms.state()["github"]["repos"]


def test_the_admin_form_takes_the_organization_and_checks_it(platforms):
    from courses.admin_forms import course_errors

    errors = course_errors(name="X", semester="2026-fall", type="LECTURE", github_org="a_b")
    assert "github_org" in errors
    assert course_errors(name="X", semester="2026-fall", type="LECTURE", github_org="dept-a") == {}


def test_preflight_checks_the_apps_installation(platforms, settings):
    from provisioning.preflight import preflight_run

    use_github_app(platforms, settings)
    checks = {check.name: check for check in preflight_run()}
    assert checks["GitHub App"].passed
    assert checks["GitHub plan"].passed
    settings.GITHUB_ORG = "not-installed-org"
    installation_auths_clear()
    checks = {check.name: check for check in preflight_run()}
    assert not checks["GitHub App"].passed
    assert "not installed" in checks["GitHub App"].message
