"""Organization rulesets: ``GET/POST /orgs/{org}/rulesets``, ``GET/PUT .../rulesets/{id}``.

One ruleset protects every repository whose name matches its ``repository_name`` patterns
(fnmatch, as GitHub's ``2026-fall-*``), present and future. Enforced on ref updates through the
git API: ``non_fast_forward`` refuses a force push, ``deletion`` a branch deletion (for everyone:
the rulesets made here have no bypass actors). ``pull_request`` is stored and shown, not
enforced (the sandbox has no pull requests). Organizations on the free plan are refused with
GitHub's 403 "Upgrade to GitHub Team to enable this feature."
"""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from sandbox.github.errors import body_object, check_type, fail, require_keys
from sandbox.github.model import Org, Repo, now_iso
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_RULESETS = "https://docs.github.com/rest/orgs/rules"
PLAN_MESSAGE = "Upgrade to GitHub Team to enable this feature."
RULE_TYPES = {"pull_request", "non_fast_forward", "deletion", "creation", "update"}
ENFORCEMENTS = {"active", "disabled", "evaluate"}


def register(gh: FakeGitHub) -> None:
    gh.route("GET", "/orgs/{org}/rulesets", list_rulesets)
    gh.route("POST", "/orgs/{org}/rulesets", create_ruleset)
    gh.route("GET", "/orgs/{org}/rulesets/{ruleset_id}", get_ruleset)
    gh.route("PUT", "/orgs/{org}/rulesets/{ruleset_id}", update_ruleset)


def _org(gh: FakeGitHub, request: Request, docs: str) -> Org:
    org = gh.state.org(request.params["org"])
    if org is None or gh.anonymous_request:
        fail(404, "Not Found", docs)
    if org.plan == "free":
        fail(403, PLAN_MESSAGE, docs)
    return org


def _find(org: Org, request: Request, docs: str) -> dict[str, Any]:
    for ruleset in org.rulesets:
        if str(ruleset["id"]) == request.params["ruleset_id"]:
            return ruleset
    fail(404, "Not Found", docs)


def _validated(body: dict[str, Any], docs: str) -> dict[str, Any]:
    require_keys(body, ["name", "enforcement"], docs)
    check_type(body, "name", str, docs=docs)
    if not body["name"].strip():
        fail(422, "Validation Failed: name can't be blank", docs)
    if body["enforcement"] not in ENFORCEMENTS:
        fail(
            422,
            f"Invalid property /enforcement: {body['enforcement']!r} is not a possible value",
            docs,
        )
    rules = body.get("rules", [])
    if not isinstance(rules, list) or not all(
        isinstance(rule, dict) and rule.get("type") in RULE_TYPES for rule in rules
    ):
        fail(422, "Invalid property /rules: data matches no possible input", docs)
    conditions = body.get("conditions") or {}
    names = (conditions.get("repository_name") or {}).get("include", [])
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        fail(422, "Invalid property /conditions/repository_name/include", docs)
    return {
        "name": body["name"],
        "target": body.get("target", "branch"),
        "enforcement": body["enforcement"],
        "conditions": conditions,
        "rules": rules,
        "bypass_actors": body.get("bypass_actors", []),
    }


def _render(org: Org, ruleset: dict[str, Any], full: bool = True) -> dict[str, Any]:
    shown = {
        "id": ruleset["id"],
        "name": ruleset["name"],
        "target": ruleset["target"],
        "source_type": "Organization",
        "source": org.login,
        "enforcement": ruleset["enforcement"],
        "node_id": f"RRS_{ruleset['id']}",
        "created_at": ruleset["created_at"],
        "updated_at": ruleset["updated_at"],
    }
    if full:
        shown.update(
            conditions=ruleset["conditions"],
            rules=ruleset["rules"],
            bypass_actors=ruleset["bypass_actors"],
        )
    return shown


def list_rulesets(gh: FakeGitHub, request: Request) -> Response:
    org = _org(gh, request, f"{DOCS_RULESETS}#get-all-organization-repository-rulesets")
    return Response(200, [_render(org, ruleset, full=False) for ruleset in org.rulesets])


def get_ruleset(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_RULESETS}#get-an-organization-repository-ruleset"
    org = _org(gh, request, docs)
    return Response(200, _render(org, _find(org, request, docs)))


def create_ruleset(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_RULESETS}#create-an-organization-repository-ruleset"
    org = _org(gh, request, docs)
    ruleset = _validated(body_object(request, required=True), docs)
    if any(other["name"] == ruleset["name"] for other in org.rulesets):
        fail(422, "Validation Failed: Name must be unique", docs)
    ruleset.update(id=gh.state.next_id("ruleset"), created_at=now_iso(), updated_at=now_iso())
    org.rulesets.append(ruleset)
    return Response(201, _render(org, ruleset))


def update_ruleset(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_RULESETS}#update-an-organization-repository-ruleset"
    org = _org(gh, request, docs)
    ruleset = _find(org, request, docs)
    body = body_object(request, required=True)
    merged = _validated({**ruleset, **body}, docs)
    ruleset.update(merged, updated_at=now_iso())
    return Response(200, _render(org, ruleset))


def ruleset_refusal(
    repo: Repo, branch: str, *, force: bool = False, delete: bool = False
) -> str | None:
    """Why an active organization ruleset refuses this ref update, or None."""
    for ruleset in repo.org.rulesets:
        if ruleset["enforcement"] != "active" or not _applies(ruleset, repo, branch):
            continue
        types = {rule["type"] for rule in ruleset["rules"]}
        if delete and "deletion" in types:
            return "Repository rule violations found\n\nCannot delete this branch\n\n"
        if force and "non_fast_forward" in types:
            return "Repository rule violations found\n\nCannot force-push to this branch\n\n"
    return None


def _applies(ruleset: dict[str, Any], repo: Repo, branch: str) -> bool:
    conditions = ruleset["conditions"] or {}
    names = conditions.get("repository_name") or {}
    include, exclude = names.get("include", ["~ALL"]), names.get("exclude", [])
    if not _matches(repo.name, include) or _matches(repo.name, exclude):
        return False
    refs = conditions.get("ref_name") or {}
    ref_include = refs.get("include", ["~DEFAULT_BRANCH"])
    wanted = {f"refs/heads/{branch}", branch}
    return any(
        pattern == "~ALL"
        or (pattern == "~DEFAULT_BRANCH" and branch == repo.default_branch)
        or any(fnmatch.fnmatchcase(name, pattern) for name in wanted)
        for pattern in ref_include
    )


def _matches(name: str, patterns: list[str]) -> bool:
    return any(p == "~ALL" or fnmatch.fnmatchcase(name.lower(), p.lower()) for p in patterns)
