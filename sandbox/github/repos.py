"""Organizations, repositories, topics, branches, labels, the user and the rate-limit endpoint."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.github import render
from sandbox.github.common import api_base, find_repo, paginate, require_writable
from sandbox.github.errors import (
    DOCS_BRANCHES,
    DOCS_REPOS,
    body_object,
    check_type,
    fail,
    require_keys,
    validation_failed,
)
from sandbox.github.gitobj import TreeEntry
from sandbox.github.limits import clock
from sandbox.github.model import REPO_FLAGS, REPO_NAME_RE, Label, Org
from sandbox.github.writes import authenticated_signature, commit_changes
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_CREATE = f"{DOCS_REPOS}#create-an-organization-repository"
DOCS_UPDATE = f"{DOCS_REPOS}#update-a-repository"
DOCS_TOPICS = f"{DOCS_REPOS}#replace-all-repository-topics"
DOCS_LABELS = "https://docs.github.com/rest/issues/labels"
TOPIC_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
COLOR_RE = re.compile(r"^[0-9a-fA-F]{6}$")
MAX_TOPICS = 20
NAME_TAKEN = "name already exists on this account"
NAME_RULES = (
    "name is invalid: use only ASCII letters, digits, '.', '-' and '_', at most 100 characters"
)


def register(gh: FakeGitHub) -> None:
    gh.route("GET", "/user", get_user)
    gh.route("GET", "/rate_limit", get_rate_limit)
    gh.route("GET", "/orgs/{org}", get_org)
    gh.route("GET", "/user/memberships/orgs/{org}", get_my_membership)
    gh.route("GET", "/orgs/{org}/repos", list_org_repos)
    gh.route("POST", "/orgs/{org}/repos", create_repo)
    gh.repo_route("GET", "", get_repo)
    gh.repo_route("PATCH", "", update_repo)
    gh.repo_route("DELETE", "", delete_repo)
    gh.repo_route("GET", "/topics", get_topics)
    gh.repo_route("PUT", "/topics", replace_topics)
    gh.repo_route("GET", "/branches", list_branches)
    gh.repo_route("GET", "/branches/{branch:path}", get_branch)
    gh.repo_route("GET", "/labels", list_labels)
    gh.repo_route("POST", "/labels", create_label)
    gh.repo_route("GET", "/labels/{name}", get_label)


# -- the user and the limits ---------------------------------------------------------------------
def get_user(gh: FakeGitHub, request: Request) -> Response:
    from sandbox.github.platform import USER_ID, USER_LOGIN

    if gh.anonymous_request:
        fail(401, "Requires authentication", "https://docs.github.com/rest/users/users")
    return Response(200, render.user(api_base(request), USER_LOGIN, USER_ID))


def get_rate_limit(gh: FakeGitHub, request: Request) -> Response:
    bucket = gh.anonymous if gh.anonymous_request else gh.primary
    core = bucket.as_dict(clock())
    core_with_resource = {**core, "resource": "core"}
    return Response(200, {"resources": {"core": core_with_resource}, "rate": core_with_resource})


# -- organizations -------------------------------------------------------------------------------
def _org(gh: FakeGitHub, login: str, docs: str = "https://docs.github.com/rest/orgs/orgs") -> Org:
    org = gh.state.org(login)
    if org is None:
        fail(404, "Not Found", docs)
    return org


def get_org(gh: FakeGitHub, request: Request) -> Response:
    org = _org(gh, request.params["org"])
    repos = [repo for repo in gh.state.repos.values() if repo.org is org]
    owner = not gh.anonymous_request and org.role == "admin"
    return Response(200, render.organization(api_base(request), org, repos, owner=owner))


def get_my_membership(gh: FakeGitHub, request: Request) -> Response:
    from sandbox.github.platform import USER_ID, USER_LOGIN

    docs = (
        "https://docs.github.com/rest/orgs/members"
        "#get-an-organization-membership-for-the-authenticated-user"
    )
    if gh.anonymous_request:
        fail(401, "Requires authentication", docs)
    org = _org(gh, request.params["org"], docs)
    if org.role == "none":
        fail(404, "Not Found", docs)
    return Response(200, render.membership(api_base(request), org, USER_LOGIN, USER_ID))


def list_org_repos(gh: FakeGitHub, request: Request) -> Response:
    org = _org(gh, request.params["org"])
    kind = request.query.get("type", "all")
    repos = sorted(
        (repo for repo in gh.state.repos.values() if repo.org is org), key=lambda r: r.id
    )
    if kind == "public" or gh.anonymous_request:
        repos = [repo for repo in repos if not repo.private]
    elif kind == "private":
        repos = [repo for repo in repos if repo.private]
    api = api_base(request)
    return paginate(request, [render.repository(api, repo) for repo in repos])


# -- repositories --------------------------------------------------------------------------------
def _check_repo_types(body: dict[str, Any], docs: str) -> None:
    check_type(body, "name", str, docs=docs)
    check_type(body, "description", str, nullable=True, docs=docs)
    check_type(body, "homepage", str, nullable=True, docs=docs)
    check_type(body, "visibility", str, docs=docs)
    check_type(body, "default_branch", str, docs=docs)
    for key in ("private", "archived", "auto_init", *REPO_FLAGS):
        check_type(body, key, bool, docs=docs)


def _name_error(message: str, creating: bool, docs: str) -> None:
    errors = [{"resource": "Repository", "code": "custom", "field": "name", "message": message}]
    if creating:
        fail(422, "Repository creation failed.", docs, errors)
    validation_failed(errors, docs)


def _visibility(body: dict[str, Any], docs: str) -> bool | None:
    """The requested privacy: ``visibility`` wins over ``private`` as on GitHub."""
    visibility = body.get("visibility")
    if visibility is None:
        return body.get("private")
    if visibility not in ("public", "private"):
        # "internal" exists only for enterprise organizations
        validation_failed(
            [{"resource": "Repository", "code": "invalid", "field": "visibility"}], docs
        )
    return visibility == "private"


def create_repo(gh: FakeGitHub, request: Request) -> Response:
    org = _org(gh, request.params["org"], DOCS_CREATE)
    body = body_object(request)
    require_keys(body, ["name"], DOCS_CREATE)
    _check_repo_types(body, DOCS_CREATE)
    name = body["name"]
    if not REPO_NAME_RE.match(name) or name in (".", ".."):
        _name_error(NAME_RULES, creating=True, docs=DOCS_CREATE)
    if gh.state.repo(org.login, name) is not None:
        _name_error(NAME_TAKEN, creating=True, docs=DOCS_CREATE)
    private = _visibility(body, DOCS_CREATE)
    repo = gh.state.add_repo(org, name)
    repo.description = body.get("description") or None
    repo.homepage = body.get("homepage") or None
    repo.private = bool(private)
    for key in REPO_FLAGS:
        if key in body:
            repo.flags[key] = body[key]
    if body.get("auto_init"):
        readme = f"# {name}\n" + (f"\n{repo.description}\n" if repo.description else "")
        blob = repo.objects.put_blob(readme.encode())
        signature = authenticated_signature()
        commit_changes(
            repo,
            branch=repo.default_branch,
            changes={"README.md": TreeEntry("100644", "README.md", blob)},
            message="Initial commit",
            author=signature,
            committer=signature,
        )
    return Response(201, render.repository(api_base(request), repo))


def get_repo(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, f"{DOCS_REPOS}#get-a-repository")
    return Response(200, render.repository(api_base(request), repo, clone_token=True))


def update_repo(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_UPDATE)
    body = body_object(request)
    _check_repo_types(body, DOCS_UPDATE)
    if repo.archived and body.get("archived") is not False and set(body) - {"archived"}:
        fail(403, "Repository was archived so is read-only.", DOCS_UPDATE)
    name = body.get("name")
    if name is not None and name != repo.name:
        if not REPO_NAME_RE.match(name) or name in (".", ".."):
            _name_error(NAME_RULES, creating=False, docs=DOCS_UPDATE)
        other = gh.state.repo(repo.org.login, name)
        if other is not None and other is not repo:
            _name_error(NAME_TAKEN, creating=False, docs=DOCS_UPDATE)
    branch = body.get("default_branch")
    if branch is not None and not repo.is_empty and repo.branch_head(branch) is None:
        validation_failed(
            [{"resource": "Repository", "code": "invalid", "field": "default_branch"}],
            DOCS_UPDATE,
        )
    private = _visibility(body, DOCS_UPDATE)
    # All checks passed: apply.
    if name is not None and name != repo.name:
        gh.state.rename_repo(repo, name)
    if "description" in body:
        repo.description = body["description"] or None
    if "homepage" in body:
        repo.homepage = body["homepage"] or None
    if private is not None:
        repo.private = private
    if "archived" in body:
        repo.archived = body["archived"]
    if branch is not None:
        repo.default_branch = branch
    for key in REPO_FLAGS:
        if key in body:
            repo.flags[key] = body[key]
    repo.touch()
    return Response(200, render.repository(api_base(request), repo))


def delete_repo(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_REPOS}#delete-a-repository"
    repo = find_repo(gh, request, docs)
    # Deleting needs admin rights on the repository (an organization owner has them); an
    # archived repository can still be deleted.
    if repo.org.role != "admin":
        fail(403, "Must have admin rights to Repository.", docs)
    gh.state.delete_repo(repo)
    return Response(204)


# -- topics --------------------------------------------------------------------------------------
def get_topics(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_TOPICS)
    return Response(200, {"names": list(repo.topics)})


def replace_topics(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_TOPICS)
    body = body_object(request)
    require_keys(body, ["names"], DOCS_TOPICS)
    names = body["names"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        fail(422, "Invalid request.\n\nFor 'properties/names', names must be an array of strings.",
             DOCS_TOPICS)  # fmt: skip
    require_writable(repo)
    topics: list[str] = []
    for name in names:
        topic = name.strip()
        if not TOPIC_RE.match(topic):
            validation_failed(
                [
                    {
                        "resource": "Repository",
                        "code": "invalid",
                        "field": "topics",
                        "message": (
                            f"{topic} is not a valid topic. Topics must start with a lowercase "
                            "letter or number, consist of 50 characters or less, and can include "
                            "hyphens."
                        ),
                    }
                ],
                DOCS_TOPICS,
            )
        if topic not in topics:
            topics.append(topic)
    if len(topics) > MAX_TOPICS:
        validation_failed(
            [
                {
                    "resource": "Repository",
                    "code": "invalid",
                    "field": "topics",
                    "message": f"A repository cannot have more than {MAX_TOPICS} topics.",
                }
            ],
            DOCS_TOPICS,
        )
    repo.topics = topics
    repo.touch()
    return Response(200, {"names": list(topics)})


# -- branches ------------------------------------------------------------------------------------
def list_branches(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, f"{DOCS_BRANCHES}#list-branches")
    api = api_base(request)
    items = []
    for name in repo.branches():
        sha = repo.branch_head(name)
        items.append(
            {
                "name": name,
                "commit": {"sha": sha, "url": f"{api}/repos/{repo.full_name}/commits/{sha}"},
                "protected": name in repo.protections,
            }
        )
    if request.query.get("protected") in ("true", "1"):
        items = [item for item in items if item["protected"]]
    return paginate(request, items)


def get_branch(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_BRANCHES}#get-a-branch"
    repo = find_repo(gh, request, docs)
    name = request.params["branch"]
    sha = repo.branch_head(name)
    if sha is None:
        fail(404, "Branch not found", docs)
    return Response(200, render.branch(api_base(request), repo, name, sha))


# -- labels --------------------------------------------------------------------------------------
def list_labels(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, f"{DOCS_LABELS}#list-labels-for-a-repository")
    api = api_base(request)
    return paginate(request, [render.label(api, repo, item) for item in repo.labels])


def get_label(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_LABELS}#get-a-label"
    repo = find_repo(gh, request, docs)
    wanted = request.params["name"].lower()
    for item in repo.labels:
        if item.name.lower() == wanted:
            return Response(200, render.label(api_base(request), repo, item))
    fail(404, "Not Found", docs)


def create_label(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_LABELS}#create-a-label"
    repo = find_repo(gh, request, docs)
    body = body_object(request)
    require_keys(body, ["name"], docs)
    check_type(body, "name", str, docs=docs)
    check_type(body, "color", str, docs=docs)
    check_type(body, "description", str, nullable=True, docs=docs)
    require_writable(repo)
    name = body["name"].strip()
    color = body.get("color", "ededed")
    errors = []
    if not name:
        errors.append({"resource": "Label", "code": "missing_field", "field": "name"})
    if not COLOR_RE.match(color):
        errors.append({"resource": "Label", "code": "invalid", "field": "color"})
    if any(item.name.lower() == name.lower() for item in repo.labels):
        errors.append({"resource": "Label", "code": "already_exists", "field": "name"})
    if errors:
        validation_failed(errors, docs)
    item = Label(gh.state.next_id("label"), name, color.lower(), body.get("description"))
    repo.labels.append(item)
    return Response(201, render.label(api_base(request), repo, item))
