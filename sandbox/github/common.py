"""Helpers every endpoint module shares: urls, finding the repository, pagination."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from sandbox.core import HttpError
from sandbox.github.errors import DOCS_GIT, DOCS_REPOS, fail
from sandbox.github.model import Repo
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

API_PATH = "/github/api/v3"


def api_base(request: Request) -> str:
    """The API root as the client reached it, so urls in answers lead back to the sandbox."""
    host = request.header("host")
    return f"http://{host}{API_PATH}" if host else "https://api.github.com"


def find_repo(gh: FakeGitHub, request: Request, docs: str = DOCS_REPOS) -> Repo:
    """The repository named by ``{owner}/{repo}`` or ``{repo_id}``, else 404 (or a redirect).

    A renamed repository's old name answers 301 (GET) or 307 (other methods) pointing at
    ``/repositories/{id}``, as GitHub does.
    """
    params = request.params
    if "repo_id" in params:
        try:
            repo = gh.state.repos.get(int(params["repo_id"]))
        except ValueError:
            repo = None
        if repo is None or (repo.private and gh.anonymous_request):
            fail(404, "Not Found", docs)
        return repo
    owner, name = params["owner"], params["repo"]
    repo = gh.state.repo(owner, name)
    if repo is not None and repo.private and gh.anonymous_request:
        fail(404, "Not Found", docs)  # GitHub hides private repositories from strangers
    if repo is not None:
        return repo
    moved = gh.state.redirects.get((owner.lower(), name.lower()))
    if moved is None or (gh.state.repos[moved].private and gh.anonymous_request):
        fail(404, "Not Found", docs)
    prefix = f"/repos/{owner}/{name}"
    rest = request.path[len(prefix) :] if request.path.startswith(prefix) else ""
    target = f"{api_base(request)}/repositories/{moved}{rest}"
    if request.query:
        target += "?" + urlencode(request.query)
    status = 301 if request.method in ("GET", "HEAD") else 307
    body = {
        "message": "Moved Permanently",
        "url": target,
        "documentation_url": "https://docs.github.com/v3/#http-redirects",
    }
    raise HttpError(Response(status, body, {"location": target}))


def require_not_empty(repo: Repo) -> None:
    """Every git database call on a repository without commits answers 409."""
    if repo.is_empty:
        fail(409, "Git Repository is empty.", DOCS_GIT)


def require_writable(repo: Repo) -> None:
    if repo.archived:
        fail(403, "Repository was archived so is read-only.", DOCS_REPOS)


def paginate(request: Request, items: list[Any]) -> Response:
    """A page of ``items`` with GitHub's ``Link`` header (``per_page`` ≤ 100, default 30)."""
    try:
        per_page = max(1, min(100, int(request.query.get("per_page", "30"))))
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    headers: dict[str, str] = {}
    if last > 1:
        base = f"{api_base(request)}{request.path}"

        def link(number: int, rel: str) -> str:
            query = {**request.query, "per_page": str(per_page), "page": str(number)}
            return f'<{base}?{urlencode(query)}>; rel="{rel}"'

        links = []
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers["link"] = ", ".join(links)
    return Response(200, chunk, headers)
