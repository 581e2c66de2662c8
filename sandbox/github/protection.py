"""Classic branch protection: ``GET/PUT/DELETE /repos/{o}/{r}/branches/{branch}/protection``.

PUT replaces the whole setting. The four keys ``required_status_checks``, ``enforce_admins``,
``required_pull_request_reviews`` and ``restrictions`` must always be sent (null allowed). Private
repositories of an organization on the free plan cannot use protection at all (403), which is the
error a course platform must explain to staff rather than retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.github import render
from sandbox.github.common import api_base, find_repo, require_writable
from sandbox.github.errors import (
    DOCS_PROTECTION,
    body_object,
    check_type,
    fail,
    require_keys,
)
from sandbox.github.model import Repo
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_GET = f"{DOCS_PROTECTION}#get-branch-protection"
DOCS_PUT = f"{DOCS_PROTECTION}#update-branch-protection"
DOCS_DELETE = f"{DOCS_PROTECTION}#delete-branch-protection"
REQUIRED = [
    "required_status_checks",
    "enforce_admins",
    "required_pull_request_reviews",
    "restrictions",
]
OPTIONAL_FLAGS = [
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
    "lock_branch",
    "allow_fork_syncing",
]
# Flags GitHub's answer shows as {"enabled": ...} (the fixture's set; lock_branch and
# allow_fork_syncing are stored and visible in the snapshot).
SHOWN_FLAGS = [
    "required_linear_history",
    "allow_force_pushes",
    "allow_deletions",
    "block_creations",
    "required_conversation_resolution",
]
MAX_REVIEWS = 6
PLAN_MESSAGE = "Upgrade to GitHub Pro or make this repository public to enable this feature."


def register(gh: FakeGitHub) -> None:
    gh.repo_route("GET", "/branches/{branch:path}/protection", get_protection)
    gh.repo_route("PUT", "/branches/{branch:path}/protection", put_protection)
    gh.repo_route("DELETE", "/branches/{branch:path}/protection", delete_protection)


def _checked(gh: FakeGitHub, request: Request, docs: str) -> tuple[Repo, str]:
    repo = find_repo(gh, request, docs)
    if repo.private and repo.org.plan == "free":
        fail(403, PLAN_MESSAGE, docs)
    branch = request.params["branch"]
    if repo.branch_head(branch) is None:
        fail(404, "Branch not found", docs)
    return repo, branch


def get_protection(gh: FakeGitHub, request: Request) -> Response:
    repo, branch = _checked(gh, request, DOCS_GET)
    settings = repo.protections.get(branch)
    if settings is None:
        fail(404, "Branch not protected", DOCS_GET)
    return Response(200, render_protection(api_base(request), repo, branch, settings))


def put_protection(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_PUT)
    settings = parse_settings(body_object(request))
    repo, branch = _checked(gh, request, DOCS_PUT)
    require_writable(repo)
    repo.protections[branch] = settings
    repo.touch()
    return Response(200, render_protection(api_base(request), repo, branch, settings))


def delete_protection(gh: FakeGitHub, request: Request) -> Response:
    repo, branch = _checked(gh, request, DOCS_DELETE)
    require_writable(repo)
    if branch not in repo.protections:
        fail(404, "Branch not protected", DOCS_DELETE)
    del repo.protections[branch]
    repo.touch()
    return Response(204)


# -- parsing ---------------------------------------------------------------------------------------
def _string_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        fail(422, f"Invalid request.\n\nFor 'properties/{key}', {value!r} is not an array.",
             DOCS_PUT)  # fmt: skip
    return list(value)


def _actors(value: Any, key: str, required: bool) -> dict[str, list[str]] | None:
    """``{users, teams, apps}`` lists of logins/slugs (``restrictions``, dismissal, bypass)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(422, f"Invalid request.\n\nFor 'properties/{key}', {value!r} is not an object.",
             DOCS_PUT)  # fmt: skip
    if required:
        require_keys(value, ["users", "teams"], DOCS_PUT)
    return {
        "users": _string_list(value.get("users"), "users"),
        "teams": _string_list(value.get("teams"), "teams"),
        "apps": _string_list(value.get("apps"), "apps"),
    }


def _status_checks(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        check_type({"required_status_checks": value}, "required_status_checks", dict, True,
                   DOCS_PUT)  # fmt: skip
    require_keys(value, ["strict"], DOCS_PUT)
    check_type(value, "strict", bool, docs=DOCS_PUT)
    checks: list[dict[str, Any]] = []
    raw_checks = value.get("checks")
    if raw_checks is not None:
        if not isinstance(raw_checks, list) or not all(
            isinstance(item, dict) and isinstance(item.get("context"), str) for item in raw_checks
        ):
            fail(422, "Invalid request.\n\nFor 'properties/checks', each check needs a context.",
                 DOCS_PUT)  # fmt: skip
        checks = [{"context": item["context"], "app_id": item.get("app_id")} for item in raw_checks]
        contexts = [check["context"] for check in checks]
    else:
        contexts = _string_list(value.get("contexts"), "contexts")
        checks = [{"context": context, "app_id": None} for context in contexts]
    return {"strict": value["strict"], "contexts": contexts, "checks": checks}


def _reviews(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        check_type({"required_pull_request_reviews": value}, "required_pull_request_reviews",
                   dict, True, DOCS_PUT)  # fmt: skip
    for key in (
        "dismiss_stale_reviews",
        "require_code_owner_reviews",
        "require_last_push_approval",
    ):
        check_type(value, key, bool, docs=DOCS_PUT)
    check_type(value, "required_approving_review_count", int, docs=DOCS_PUT)
    count = value.get("required_approving_review_count", 1)
    if not 0 <= count <= MAX_REVIEWS:
        fail(
            422,
            "Invalid request.\n\nFor 'properties/required_approving_review_count', "
            + (
                f"{count} is greater than the maximum of {MAX_REVIEWS}."
                if count > MAX_REVIEWS
                else f"{count} is less than the minimum of 0."
            ),
            DOCS_PUT,
        )
    return {
        "dismiss_stale_reviews": value.get("dismiss_stale_reviews", False),
        "require_code_owner_reviews": value.get("require_code_owner_reviews", False),
        "required_approving_review_count": count,
        "require_last_push_approval": value.get("require_last_push_approval", False),
        "dismissal_restrictions": _actors(
            value.get("dismissal_restrictions"), "dismissal_restrictions", required=False
        ),
        "bypass_pull_request_allowances": _actors(
            value.get("bypass_pull_request_allowances"),
            "bypass_pull_request_allowances",
            required=False,
        ),
    }


def parse_settings(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a PUT body and return the stored (JSON-ready) settings."""
    require_keys(body, REQUIRED, DOCS_PUT)
    check_type(body, "enforce_admins", bool, nullable=True, docs=DOCS_PUT)
    for key in OPTIONAL_FLAGS:
        check_type(body, key, bool, nullable=True, docs=DOCS_PUT)
    settings: dict[str, Any] = {
        "required_status_checks": _status_checks(body["required_status_checks"]),
        "enforce_admins": bool(body["enforce_admins"]),
        "required_pull_request_reviews": _reviews(body["required_pull_request_reviews"]),
        "restrictions": _actors(body["restrictions"], "restrictions", required=True),
    }
    for key in OPTIONAL_FLAGS:
        settings[key] = bool(body.get(key))
    return settings


# -- rendering -------------------------------------------------------------------------------------
def _actors_json(
    api: str, repo: Repo, actors: dict[str, list[str]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    users = [render.user(api, login, render.fake_user_id(login)) for login in actors["users"]]
    teams = [render.team(api, repo.org, slug) for slug in actors["teams"]]
    return users, teams


def render_protection(
    api: str, repo: Repo, branch: str, settings: dict[str, Any]
) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/branches/{quote(branch)}/protection"
    data: dict[str, Any] = {"url": url}
    checks = settings["required_status_checks"]
    if checks is not None:
        data["required_status_checks"] = {
            "url": f"{url}/required_status_checks",
            "strict": checks["strict"],
            "contexts": list(checks["contexts"]),
            "contexts_url": f"{url}/required_status_checks/contexts",
            "checks": [dict(check) for check in checks["checks"]],
        }
    restrictions = settings["restrictions"]
    if restrictions is not None:
        users, teams = _actors_json(api, repo, restrictions)
        data["restrictions"] = {
            "url": f"{url}/restrictions",
            "users_url": f"{url}/restrictions/users",
            "teams_url": f"{url}/restrictions/teams",
            "apps_url": f"{url}/restrictions/apps",
            "users": users,
            "teams": teams,
            "apps": [],
        }
    reviews = settings["required_pull_request_reviews"]
    if reviews is not None:
        shown: dict[str, Any] = {
            "url": f"{url}/required_pull_request_reviews",
            "dismiss_stale_reviews": reviews["dismiss_stale_reviews"],
            "require_code_owner_reviews": reviews["require_code_owner_reviews"],
            "required_approving_review_count": reviews["required_approving_review_count"],
        }
        if reviews["dismissal_restrictions"] is not None:
            users, teams = _actors_json(api, repo, reviews["dismissal_restrictions"])
            shown["dismissal_restrictions"] = {
                "url": f"{url}/dismissal_restrictions",
                "users_url": f"{url}/dismissal_restrictions/users",
                "teams_url": f"{url}/dismissal_restrictions/teams",
                "users": users,
                "teams": teams,
                "apps": [],
            }
        data["required_pull_request_reviews"] = shown
    data["required_signatures"] = {"url": f"{url}/required_signatures", "enabled": False}
    data["enforce_admins"] = {"url": f"{url}/enforce_admins", "enabled": settings["enforce_admins"]}
    for key in SHOWN_FLAGS:
        data[key] = {"enabled": settings[key]}
    return data
