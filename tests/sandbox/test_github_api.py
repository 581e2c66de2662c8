"""The fake GitHub through real PyGithub: repositories, protection, topics, contents, limits."""

from __future__ import annotations

import time

import github
import pytest
import requests
from github import Auth, GithubException

from sandbox.server import RunningSandbox

TOKEN = "sandbox-github-token"


def client(sandbox: RunningSandbox, token: str = TOKEN) -> github.Github:
    # No pacing between calls (PyGithub waits 0.25 s/1 s by default) and no retries: fast tests.
    return github.Github(
        auth=Auth.Token(token),
        base_url=sandbox.github_api_url,
        retry=None,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


@pytest.fixture
def gh(sandbox: RunningSandbox, sandbox_control) -> github.Github:
    sandbox_control.create_org("course-org", plan="team")
    sandbox_control.create_org("poor-org", plan="free")
    return client(sandbox)


def test_create_repository_and_name_taken(gh: github.Github, sandbox_control) -> None:
    org = gh.get_organization("course-org")
    assert org.plan.name == "team"
    repo = org.create_repo("algo-2026-g1", description="Algorithms, group 1", private=True)
    assert repo.full_name == "course-org/algo-2026-g1"
    assert repo.html_url == "https://github.com/course-org/algo-2026-g1"
    assert repo.private is True
    assert repo.default_branch == "main"

    with pytest.raises(GithubException) as caught:
        org.create_repo("ALGO-2026-G1")  # names are case-insensitive on GitHub
    assert caught.value.status == 422
    assert "already exists" in str(caught.value).lower()
    assert caught.value.data["errors"][0]["message"] == "name already exists on this account"

    with pytest.raises(GithubException) as invalid:
        org.create_repo("not a name!")
    assert invalid.value.status == 422

    second = org.create_repo("algo-2026-g2")
    assert second.id == repo.id + 1
    state = sandbox_control.state()["github"]
    assert state["orgs"]["course-org"]["repos"] == ["algo-2026-g1", "algo-2026-g2"]
    assert state["repos"]["course-org/algo-2026-g1"]["empty"] is True


def test_auto_init_commits_a_readme(gh: github.Github, sandbox_control) -> None:
    org = gh.get_organization("course-org")
    repo = org.create_repo("hello", description="Hello course", auto_init=True)
    readme = repo.get_contents("README.md")
    assert readme.decoded_content.decode() == "# hello\n\nHello course\n"
    snapshot = sandbox_control.state()["github"]["repos"]["course-org/hello"]
    assert snapshot["files"] == {"README.md": "# hello\n\nHello course\n"}
    assert snapshot["commits"] == 1


def test_bad_credentials_are_401(sandbox: RunningSandbox, gh: github.Github) -> None:
    with pytest.raises(github.BadCredentialsException) as caught:
        client(sandbox, token="wrong").get_organization("course-org")
    assert caught.value.status == 401
    assert caught.value.data == {
        "message": "Bad credentials",
        "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    bearer = requests.get(
        f"{sandbox.github_api_url}/orgs/course-org",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=5,
    )
    assert bearer.status_code == 200


def test_unknown_repository_is_404(gh: github.Github) -> None:
    with pytest.raises(github.UnknownObjectException) as caught:
        gh.get_repo("course-org/nope")
    assert caught.value.data["message"] == "Not Found"


def test_edit_archive_and_rename(gh: github.Github, sandbox_control) -> None:
    repo = gh.get_organization("course-org").create_repo("old-name", auto_init=True)
    repo.edit(description="updated", has_wiki=False)
    repo.edit(name="new-name")
    assert gh.get_repo("course-org/new-name").description == "updated"
    # The old name still answers, through GitHub's redirect to /repositories/{id}.
    assert gh.get_repo("course-org/old-name").name == "new-name"
    moved = gh.get_repo("course-org/new-name")
    moved.edit(archived=True)
    with pytest.raises(GithubException) as caught:
        moved.replace_topics(["x"])
    assert caught.value.status == 403
    moved.edit(archived=False)
    state = sandbox_control.state()["github"]["repos"]["course-org/new-name"]
    assert state["has_wiki"] is False and state["archived"] is False


def test_topics_replace_and_validate(gh: github.Github) -> None:
    repo = gh.get_organization("course-org").create_repo("topics")
    repo.replace_topics(["course-algo", "year-2026", "course-algo"])
    assert repo.get_topics() == ["course-algo", "year-2026"]
    for bad in (["Upper"], ["under_score"], ["x" * 51], [f"t{i}" for i in range(21)]):
        with pytest.raises(GithubException) as caught:
            repo.replace_topics(bad)
        assert caught.value.status == 422
    assert repo.get_topics() == ["course-algo", "year-2026"]


def test_branch_protection_put_get_delete(gh: github.Github, sandbox_control) -> None:
    repo = gh.get_organization("course-org").create_repo("protected", private=True, auto_init=True)
    branch = repo.get_branch("main")
    assert branch.protected is False
    with pytest.raises(GithubException) as missing:
        branch.get_protection()
    assert missing.value.status == 404
    assert missing.value.data["message"] == "Branch not protected"

    protection = branch.edit_protection(
        required_approving_review_count=2, dismiss_stale_reviews=True, allow_force_pushes=False
    )
    assert protection.required_pull_request_reviews.required_approving_review_count == 2
    read = repo.get_branch("main").get_protection()
    assert read.required_pull_request_reviews.dismiss_stale_reviews is True
    assert read.enforce_admins is False
    assert repo.get_branch("main").protected is True
    stored = sandbox_control.state()["github"]["repos"]["course-org/protected"]["protection"]
    assert stored["main"]["required_pull_request_reviews"]["required_approving_review_count"] == 2
    assert stored["main"]["allow_force_pushes"] is False

    branch.remove_protection()
    assert repo.get_branch("main").protected is False
    assert sandbox_control.state()["github"]["repos"]["course-org/protected"]["protection"] == {}

    with pytest.raises(github.UnknownObjectException) as no_branch:
        repo.get_branch("nope")
    assert no_branch.value.data["message"] == "Branch not found"


def test_protection_requires_the_four_keys(sandbox: RunningSandbox, gh: github.Github) -> None:
    gh.get_organization("course-org").create_repo("raw", auto_init=True)
    answer = requests.put(
        f"{sandbox.github_api_url}/repos/course-org/raw/branches/main/protection",
        json={"enforce_admins": True, "restrictions": None},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=5,
    )
    assert answer.status_code == 422
    assert answer.json()["message"] == (
        'Invalid request.\n\n"required_status_checks", "required_pull_request_reviews" '
        "weren't supplied."
    )
    missing_branch = requests.put(
        f"{sandbox.github_api_url}/repos/course-org/raw/branches/dev/protection",
        json={key: None for key in ("required_status_checks", "enforce_admins",
                                    "required_pull_request_reviews", "restrictions")},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=5,
    )  # fmt: skip
    assert missing_branch.status_code == 404
    assert missing_branch.json()["message"] == "Branch not found"


def test_private_repo_on_free_plan_cannot_be_protected(gh: github.Github, sandbox_control) -> None:
    org = gh.get_organization("poor-org")
    assert org.plan.name == "free"
    private = org.create_repo("secret", private=True, auto_init=True)
    branch = private.get_branch("main")
    for call in (lambda: branch.edit_protection(required_approving_review_count=1),
                 branch.get_protection):  # fmt: skip
        with pytest.raises(GithubException) as caught:
            call()
        assert caught.value.status == 403
        assert caught.value.data["message"] == (
            "Upgrade to GitHub Pro or make this repository public to enable this feature."
        )
    public = org.create_repo("open", private=False, auto_init=True)
    public.get_branch("main").edit_protection(required_approving_review_count=1)
    # Staff upgrade the organization to Team: the same call now works.
    sandbox_control.configure(github={"orgs": [{"login": "poor-org", "plan": "team"}]})
    branch.edit_protection(required_approving_review_count=1)
    assert private.get_branch("main").protected is True


def test_contents_put_and_get(gh: github.Github, sandbox_control) -> None:
    repo = gh.get_organization("course-org").create_repo("contents")
    with pytest.raises(GithubException) as empty:
        repo.get_contents("README.md")
    assert empty.value.status == 404
    assert empty.value.data["message"] == "This repository is empty."

    created = repo.create_file("docs/intro.md", "Add intro", "Hello\n")
    assert created["content"].path == "docs/intro.md"
    assert created["commit"].parents == []
    current = repo.get_contents("docs/intro.md")
    assert current.decoded_content == b"Hello\n"
    assert current.sha == created["content"].sha

    with pytest.raises(GithubException) as no_sha:
        repo.create_file("docs/intro.md", "again", "x")
    assert no_sha.value.status == 422
    with pytest.raises(GithubException) as stale:
        repo.update_file("docs/intro.md", "stale", "x", sha="0" * 40)
    assert stale.value.status == 409

    updated = repo.update_file("docs/intro.md", "Edit intro", "Hello again\n", sha=current.sha)
    assert updated["content"].sha != current.sha
    repo.create_file("docs/week 1.md", "Percent-encoded path", "Week 1\n")
    assert repo.get_contents("docs/week 1.md").decoded_content == b"Week 1\n"
    listing = repo.get_contents("docs")
    assert [item.name for item in listing] == ["intro.md", "week 1.md"]
    assert [item.type for item in repo.get_contents("")] == ["dir"]
    state = sandbox_control.state()["github"]["repos"]["course-org/contents"]
    assert state["files"] == {"docs/intro.md": "Hello again\n", "docs/week 1.md": "Week 1\n"}
    assert state["commits"] == 3


def test_every_answer_carries_primary_rate_limit_headers(
    sandbox: RunningSandbox, gh: github.Github, sandbox_control
) -> None:
    headers = {"Authorization": f"token {TOKEN}"}
    first = requests.get(f"{sandbox.github_api_url}/orgs/course-org", headers=headers, timeout=5)
    second = requests.get(f"{sandbox.github_api_url}/orgs/nope", headers=headers, timeout=5)
    assert second.status_code == 404
    for answer in (first, second):
        assert answer.headers["x-ratelimit-limit"] == "5000"
        assert answer.headers["x-ratelimit-resource"] == "core"
        assert int(answer.headers["x-ratelimit-reset"]) > time.time()
    used = int(first.headers["x-ratelimit-used"])
    assert int(second.headers["x-ratelimit-used"]) == used + 1
    assert int(second.headers["x-ratelimit-remaining"]) == 5000 - used - 1

    sandbox_control.configure(github={"primary_limit": used + 2})
    requests.get(f"{sandbox.github_api_url}/orgs/course-org", headers=headers, timeout=5)
    with pytest.raises(github.RateLimitExceededException) as caught:
        gh.get_organization("course-org")
    assert caught.value.status == 403
    assert caught.value.headers["x-ratelimit-remaining"] == "0"
    assert caught.value.data["message"].startswith("API rate limit exceeded for user ID 1.")


def test_secondary_limit_refuses_writes_without_effect(
    sandbox: RunningSandbox, gh: github.Github, sandbox_control
) -> None:
    org = gh.get_organization("course-org")
    sandbox_control.configure(github={"secondary_limit": {"requests": 2, "window": 60}})
    org.create_repo("w1")
    org.create_repo("w2")
    with pytest.raises(github.RateLimitExceededException) as caught:
        org.create_repo("w3")
    assert caught.value.status == 403
    assert caught.value.data["message"].startswith("You have exceeded a secondary rate limit.")
    assert 1 <= int(caught.value.headers["retry-after"]) <= 60
    # Reads are not content-creating: still fine.
    assert [repo.name for repo in org.get_repos()] == ["w1", "w2"]
    state = sandbox_control.state()["github"]
    assert "course-org/w3" not in state["repos"]
    assert state["counters"]["secondary_limited"] == 1

    # configure() changes limits without losing objects.
    sandbox_control.configure(github={"secondary_limit": None})
    org.create_repo("w3")
    assert sorted(sandbox_control.state()["github"]["repos"]) == [
        "course-org/w1",
        "course-org/w2",
        "course-org/w3",
    ]


def test_injected_429_and_errors_have_githubs_shape(sandbox: RunningSandbox) -> None:
    platform = sandbox.sandbox.platforms["github"]
    limited = platform.too_many_requests(0.05)
    assert limited.status == 429
    assert limited.headers["retry-after"] == "1"
    assert platform.error(502, "Bad Gateway").body == {
        "message": "Bad Gateway",
        "documentation_url": "https://docs.github.com/rest",
        "status": "502",
    }


def test_reset_options_token_and_orgs(sandbox: RunningSandbox, sandbox_control) -> None:
    sandbox_control.reset(
        github={"token": "other-token", "orgs": [{"login": "from-reset", "plan": "free"}]}
    )
    assert client(sandbox, "other-token").get_organization("from-reset").plan.name == "free"
    with pytest.raises(github.BadCredentialsException):
        client(sandbox).get_organization("from-reset")
    with pytest.raises(RuntimeError, match="unknown plan"):
        sandbox_control.create_org("another", plan="gold")
    with pytest.raises(RuntimeError, match="unknown github options"):
        sandbox_control.configure(github={"tokn": "typo"})


def test_anonymous_requests_read_public_data_only(
    sandbox: RunningSandbox, gh: github.Github
) -> None:
    org = gh.get_organization("course-org")
    org.create_repo("public-one")
    org.create_repo("private-one", private=True)
    api = sandbox.github_api_url
    assert requests.get(f"{api}/repos/course-org/public-one", timeout=5).status_code == 200
    hidden = requests.get(f"{api}/repos/course-org/private-one", timeout=5)
    assert hidden.status_code == 404
    assert hidden.headers["x-ratelimit-limit"] == "60"
    write = requests.post(f"{api}/orgs/course-org/repos", json={"name": "x"}, timeout=5)
    assert write.status_code == 401
    assert write.json()["message"] == "Requires authentication"


def test_enforced_protection_blocks_direct_updates(gh: github.Github) -> None:
    repo = gh.get_organization("course-org").create_repo("strict", auto_init=True)
    repo.get_branch("main").edit_protection(enforce_admins=True, required_approving_review_count=1)
    readme = repo.get_contents("README.md")
    with pytest.raises(GithubException) as caught:
        repo.update_file("README.md", "direct", "x", sha=readme.sha)
    assert caught.value.status == 409
    assert caught.value.data["message"] == "Changes must be made through a pull request."
    # Without enforce_admins our (admin) token bypasses the rules, as on GitHub.
    repo.get_branch("main").edit_protection(required_approving_review_count=1)
    repo.update_file("README.md", "direct", "x", sha=readme.sha)
