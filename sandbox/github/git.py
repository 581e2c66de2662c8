"""The Git database API: blobs, trees, commits and refs, with git's real object ids.

On an empty repository (no commit yet) every one of these endpoints answers 409 "Git Repository
is empty.", as GitHub does; the first commit has to come from ``auto_init`` or the contents API.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from sandbox.github import render
from sandbox.github.common import (
    api_base,
    find_repo,
    paginate,
    require_not_empty,
    require_writable,
)
from sandbox.github.errors import (
    DOCS_GIT,
    body_object,
    check_type,
    fail,
    require_keys,
)
from sandbox.github.gitobj import (
    API_TREE_MODE,
    SHA_RE,
    SUBMODULE_MODE,
    TREE_MODE,
    Commit,
    TreeEntry,
    valid_path,
)
from sandbox.github.model import Repo
from sandbox.github.rulesets import ruleset_refusal
from sandbox.github.writes import (
    authenticated_signature,
    parse_signature,
    protection_refusal,
)
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_BLOBS = f"{DOCS_GIT}/blobs"
DOCS_TREES = f"{DOCS_GIT}/trees"
DOCS_COMMITS = f"{DOCS_GIT}/commits"
DOCS_REFS = f"{DOCS_GIT}/refs"
INPUT_MODES = ("100644", "100755", "040000", "160000", "120000")


def register(gh: FakeGitHub) -> None:
    gh.repo_route("POST", "/git/blobs", create_blob)
    gh.repo_route("GET", "/git/blobs/{sha}", get_blob)
    gh.repo_route("POST", "/git/trees", create_tree)
    gh.repo_route("GET", "/git/trees/{sha:path}", get_tree)
    gh.repo_route("POST", "/git/commits", create_commit)
    gh.repo_route("GET", "/git/commits/{sha}", get_commit)
    gh.repo_route("GET", "/git/ref/{ref:path}", get_ref)
    gh.repo_route("GET", "/git/refs", list_refs)
    gh.repo_route("GET", "/git/refs/{ref:path}", get_refs_prefix)
    gh.repo_route("GET", "/git/matching-refs/{ref:path}", matching_refs)
    gh.repo_route("POST", "/git/refs", create_ref)
    gh.repo_route("PATCH", "/git/refs/{ref:path}", update_ref)
    gh.repo_route("DELETE", "/git/refs/{ref:path}", delete_ref)


def _git_repo(gh: FakeGitHub, request: Request, docs: str, write: bool = False) -> Repo:
    repo = find_repo(gh, request, docs)
    require_not_empty(repo)
    if write:
        require_writable(repo)
    return repo


def _git_write(
    gh: FakeGitHub, request: Request, docs: str, required: list[str]
) -> tuple[Repo, dict[str, Any]]:
    """A write's repository and body, checked in GitHub's order: the repository first (404, 409
    when empty, 403 when archived), then the body (400 unless JSON, 422 for missing keys)."""
    repo = _git_repo(gh, request, docs, write=True)
    body = body_object(request)
    require_keys(body, required, docs)
    return repo, body


# -- blobs ---------------------------------------------------------------------------------------
def create_blob(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_BLOBS}#create-a-blob"
    repo, body = _git_write(gh, request, docs, ["content"])
    check_type(body, "content", str, docs=docs)
    check_type(body, "encoding", str, docs=docs)
    encoding = body.get("encoding", "utf-8")
    if encoding in ("utf-8", "utf8"):
        content = body["content"].encode()
    elif encoding == "base64":
        try:
            content = base64.b64decode(body["content"], validate=False)
        except (binascii.Error, ValueError):
            fail(422, "Invalid request.\n\ncontent is not valid Base64.", docs)
    else:
        fail(422, f"encoding must be 'utf-8' or 'base64', not {encoding!r}", docs)
    sha = repo.objects.put_blob(content)
    api = api_base(request)
    return Response(201, {"sha": sha, "url": f"{api}/repos/{repo.full_name}/git/blobs/{sha}"})


def get_blob(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_BLOBS}#get-a-blob"
    repo = _git_repo(gh, request, docs)
    sha = request.params["sha"].lower()
    if sha not in repo.objects.blobs:
        fail(404, "Not Found", docs)
    return Response(200, render.blob(api_base(request), repo, sha))


# -- trees ---------------------------------------------------------------------------------------
def _tree_changes(repo: Repo, items: Any, docs: str) -> dict[str, TreeEntry | None]:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        fail(422, "Invalid request.\n\nFor 'properties/tree', it is not an array of objects.", docs)
    changes: dict[str, TreeEntry | None] = {}
    for item in items:
        path = item.get("path")
        if not isinstance(path, str) or not valid_path(path):
            fail(422, f"tree.path {path!r} contains a malformed path component", docs)
        mode = item.get("mode", "100644")
        if mode not in INPUT_MODES:
            fail(
                422,
                f"Invalid request.\n\nFor 'properties/mode', {mode!r} is not one of "
                + ", ".join(INPUT_MODES)
                + ".",
                docs,
            )
        kind = item.get("type") or {"040000": "tree", SUBMODULE_MODE: "commit"}.get(mode, "blob")
        expected = {"040000": "tree", SUBMODULE_MODE: "commit"}.get(mode, "blob")
        if kind != expected:
            fail(422, f"tree.type {kind!r} does not match mode {mode}", docs)
        has_content = "content" in item and item["content"] is not None
        if has_content and item.get("sha") is not None:
            fail(
                422, "Invalid request.\n\nOnly one of tree.sha or tree.content may be given.", docs
            )
        git_mode = TREE_MODE if mode == API_TREE_MODE else mode
        if has_content:
            if kind != "blob" or not isinstance(item["content"], str):
                fail(422, "tree.content may only be given for a blob", docs)
            sha = repo.objects.put_blob(item["content"].encode())
            changes[path] = TreeEntry(git_mode, path.rsplit("/", 1)[-1], sha)
        elif "sha" in item and item["sha"] is None:
            changes[path] = None  # GitHub: sha null deletes the path
        elif isinstance(item.get("sha"), str):
            sha = item["sha"].lower()
            if kind == "blob" and sha not in repo.objects.blobs:
                fail(422, f"tree.sha {item['sha']} is not a valid blob", docs)
            if kind == "tree" and sha not in repo.objects.trees:
                fail(422, f"tree.sha {item['sha']} is not a valid tree", docs)
            if kind == "commit" and not SHA_RE.match(sha):
                fail(422, f"tree.sha {item['sha']} is not a valid commit", docs)
            changes[path] = TreeEntry(git_mode, path.rsplit("/", 1)[-1], sha)
        else:
            fail(422, "Must supply either tree.sha or tree.content", docs)
    return changes


def create_tree(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_TREES}#create-a-tree"
    repo, body = _git_write(gh, request, docs, ["tree"])
    base = body.get("base_tree")
    if base is not None:
        if not isinstance(base, str) or base.lower() not in repo.objects.trees:
            fail(422, "base_tree is not a valid tree oid", docs)
        base = base.lower()
    changes = _tree_changes(repo, body["tree"], docs)
    sha = repo.objects.edit_tree(base, changes)
    return Response(201, render.tree(api_base(request), repo, sha))


def _resolve_tree(repo: Repo, name: str) -> str | None:
    """A tree id from a tree sha, a commit sha or a branch/tag name (GitHub accepts tree-ish)."""
    sha = name.lower()
    if sha in repo.objects.trees:
        return sha
    if sha in repo.objects.commits:
        return repo.objects.commits[sha].tree
    for ref in (name, f"refs/heads/{name}", f"refs/tags/{name}", f"refs/{name}"):
        if ref in repo.refs:
            return repo.objects.commits[repo.refs[ref]].tree
    return None


def get_tree(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_TREES}#get-a-tree"
    repo = _git_repo(gh, request, docs)
    sha = _resolve_tree(repo, request.params["sha"])
    if sha is None:
        fail(404, "Not Found", docs)
    recursive = request.query.get("recursive", "") not in ("", "0", "false")
    return Response(200, render.tree(api_base(request), repo, sha, recursive=recursive))


# -- commits -------------------------------------------------------------------------------------
def create_commit(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_COMMITS}#create-a-commit"
    repo, body = _git_write(gh, request, docs, ["message", "tree"])
    check_type(body, "message", str, docs=docs)
    check_type(body, "tree", str, docs=docs)
    check_type(body, "parents", list, docs=docs)
    tree = body["tree"].lower()
    if tree not in repo.objects.trees:
        fail(422, "Tree SHA does not exist", docs)
    parents = [str(parent).lower() for parent in body.get("parents", [])]
    if any(parent not in repo.objects.commits for parent in parents):
        fail(422, "Parent SHA does not exist or is not a commit object", docs)
    default = authenticated_signature()
    author = parse_signature(body.get("author"), "author", default, docs)
    # GitHub: the committer defaults to the author when only the author is given.
    committer = parse_signature(body.get("committer"), "committer", author, docs)
    commit = Commit(tree, parents, author, committer, body["message"])
    sha = repo.objects.put_commit(commit)
    return Response(201, render.git_commit(api_base(request), repo, sha, commit))


def get_commit(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_COMMITS}#get-a-commit-object"
    repo = _git_repo(gh, request, docs)
    sha = request.params["sha"].lower()
    commit = repo.objects.commits.get(sha)
    if commit is None:
        fail(404, "Not Found", docs)
    return Response(200, render.git_commit(api_base(request), repo, sha, commit))


# -- refs ----------------------------------------------------------------------------------------
def _full_ref(name: str) -> str:
    name = name.strip("/")
    return name if name.startswith("refs/") else f"refs/{name}"


def _refs_json(request: Request, repo: Repo, names: list[str]) -> list[dict[str, Any]]:
    api = api_base(request)
    return [render.ref(api, repo, name, repo.refs[name]) for name in sorted(names)]


def get_ref(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_REFS}#get-a-reference"
    repo = _git_repo(gh, request, docs)
    name = _full_ref(request.params["ref"])
    if name not in repo.refs:
        fail(404, "Not Found", docs)
    return Response(200, render.ref(api_base(request), repo, name, repo.refs[name]))


def list_refs(gh: FakeGitHub, request: Request) -> Response:
    repo = _git_repo(gh, request, f"{DOCS_REFS}#list-matching-references")
    return paginate(request, _refs_json(request, repo, list(repo.refs)))


def get_refs_prefix(gh: FakeGitHub, request: Request) -> Response:
    """The legacy form: an exact ref answers the ref, a prefix answers the list of matches."""
    docs = f"{DOCS_REFS}#get-a-reference"
    repo = _git_repo(gh, request, docs)
    name = _full_ref(request.params["ref"])
    if name in repo.refs:
        return Response(200, render.ref(api_base(request), repo, name, repo.refs[name]))
    matches = [ref for ref in repo.refs if ref.startswith(name.rstrip("/") + "/")]
    if not matches:
        fail(404, "Not Found", docs)
    return paginate(request, _refs_json(request, repo, matches))


def matching_refs(gh: FakeGitHub, request: Request) -> Response:
    repo = _git_repo(gh, request, f"{DOCS_REFS}#list-matching-references")
    prefix = _full_ref(request.params["ref"])
    return paginate(
        request, _refs_json(request, repo, [ref for ref in repo.refs if ref.startswith(prefix)])
    )


def create_ref(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_REFS}#create-a-reference"
    repo, body = _git_write(gh, request, docs, ["ref", "sha"])
    check_type(body, "ref", str, docs=docs)
    check_type(body, "sha", str, docs=docs)
    name = body["ref"]
    parts = name.split("/")
    if not name.startswith("refs/") or len(parts) < 3 or not all(parts) or ".." in name:
        fail(422, f"{name} is not a valid ref name.", docs)
    sha = body["sha"].lower()
    if repo.objects.kind(sha) is None:
        fail(422, "Object does not exist", docs)
    if name in repo.refs:
        fail(422, "Reference already exists", docs)
    repo.refs[name] = sha
    repo.touch(pushed=True)
    return Response(201, render.ref(api_base(request), repo, name, sha))


def update_ref(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_REFS}#update-a-reference"
    repo, body = _git_write(gh, request, docs, ["sha"])
    check_type(body, "sha", str, docs=docs)
    check_type(body, "force", bool, docs=docs)
    name = _full_ref(request.params["ref"])
    if name not in repo.refs:
        fail(422, "Reference does not exist", docs)
    sha = body["sha"].lower()
    if repo.objects.kind(sha) is None:
        fail(422, "Object does not exist", docs)
    current = repo.refs[name]
    fast_forward = sha == current or (
        sha in repo.objects.commits and repo.objects.is_ancestor(current, sha)
    )
    force = bool(body.get("force", False))
    if not fast_forward and not force:
        fail(422, "Update is not a fast forward", docs)
    if name.startswith("refs/heads/") and sha != current:
        branch = name[len("refs/heads/") :]
        refusal = protection_refusal(repo, branch, force=not fast_forward) or ruleset_refusal(
            repo, branch, force=not fast_forward
        )
        if refusal:
            fail(422, refusal, docs)
    repo.refs[name] = sha
    repo.touch(pushed=True)
    return Response(200, render.ref(api_base(request), repo, name, sha))


def delete_ref(gh: FakeGitHub, request: Request) -> Response:
    docs = f"{DOCS_REFS}#delete-a-reference"
    repo = _git_repo(gh, request, docs, write=True)
    name = _full_ref(request.params["ref"])
    if name not in repo.refs:
        fail(422, "Reference does not exist", docs)
    if name.startswith("refs/heads/"):
        branch = name[len("refs/heads/") :]
        refusal = protection_refusal(repo, branch, delete=True) or ruleset_refusal(
            repo, branch, delete=True
        )
        if refusal:
            fail(422, refusal, docs)
    del repo.refs[name]
    repo.touch(pushed=True)
    return Response(204)
