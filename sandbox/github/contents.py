"""The contents API: read files and directories, create/update/delete one file per commit.

Unlike the Git database API it works on an empty repository: the first PUT creates the first
commit and the branch, which is how a repository created without ``auto_init`` gets content.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from sandbox.github import render
from sandbox.github.common import api_base, find_repo, require_writable
from sandbox.github.errors import (
    DOCS_CONTENTS,
    body_object,
    check_type,
    fail,
    require_keys,
)
from sandbox.github.gitobj import TREE_MODE, TreeEntry, valid_path
from sandbox.github.model import Repo
from sandbox.github.writes import (
    authenticated_signature,
    commit_changes,
    parse_signature,
    protection_refusal,
)
from sandbox.http import Request, Response

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub

DOCS_GET = f"{DOCS_CONTENTS}#get-repository-content"
DOCS_PUT = f"{DOCS_CONTENTS}#create-or-update-file-contents"
DOCS_DELETE = f"{DOCS_CONTENTS}#delete-a-file"
RAW_TYPES = ("application/vnd.github.raw", "application/vnd.github.v3.raw")


def register(gh: FakeGitHub) -> None:
    gh.repo_route("GET", "/contents", get_contents)
    gh.repo_route("GET", "/contents/{path:path}", get_contents)
    gh.repo_route("PUT", "/contents/{path:path}", put_contents)
    gh.repo_route("DELETE", "/contents/{path:path}", delete_contents)


def _resolve_ref(repo: Repo, ref: str) -> str | None:
    """A commit id from a branch, tag or commit sha."""
    for name in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
        if name in repo.refs:
            return repo.refs[name]
    if ref.lower() in repo.objects.commits:
        return ref.lower()
    return None


def get_contents(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_GET)
    if repo.is_empty:
        fail(404, "This repository is empty.", DOCS_GET)
    ref = request.query.get("ref") or repo.default_branch
    commit_sha = _resolve_ref(repo, ref)
    if commit_sha is None:
        fail(404, f"No commit found for the ref {ref}", DOCS_GET)
    tree = repo.objects.commits[commit_sha].tree
    path = request.params.get("path", "").strip("/")
    api = api_base(request)
    if not path:
        entry: TreeEntry | None = TreeEntry(TREE_MODE, "", tree)
    else:
        entry = repo.objects.lookup(tree, path)
    if entry is None:
        fail(404, "Not Found", DOCS_GET)
    if entry.mode == TREE_MODE:
        listing = [
            render.content_entry(api, repo, f"{path}/{child.name}" if path else child.name,
                                 child, ref)
            for child in repo.objects.trees[entry.sha]
        ]  # fmt: skip
        return Response(200, listing)
    accept = request.header("accept")
    if entry.type == "blob" and any(kind in accept for kind in RAW_TYPES):
        return Response(
            200,
            repo.objects.blobs[entry.sha],
            {
                "Content-Type": "application/vnd.github.raw; charset=utf-8",
                "x-github-media-type": "github.v3; param=raw",
            },
        )
    if entry.type != "blob":
        return Response(200, render.content_entry(api, repo, path, entry, ref))
    return Response(200, render.content_file(api, repo, path, entry, ref))


def _target(
    repo: Repo, body: dict[str, Any], path: str, docs: str
) -> tuple[str, str | None, TreeEntry | None]:
    """(branch, head commit or None for an empty repo, current entry at ``path`` or None)."""
    check_type(body, "branch", str, docs=docs)
    check_type(body, "sha", str, docs=docs)
    if not valid_path(path):
        fail(422, f"path {path!r} contains a malformed path component", docs)
    branch = body.get("branch") or repo.default_branch
    if repo.is_empty:
        return branch, None, None
    head = repo.branch_head(branch)
    if head is None:
        fail(404, f"Branch {branch} not found", docs)
    tree = repo.objects.commits[head].tree
    parts = path.split("/")
    for index in range(1, len(parts)):
        above = repo.objects.lookup(tree, "/".join(parts[:index]))
        if above is not None and above.mode != TREE_MODE:
            fail(422, f"Invalid request.\n\n{'/'.join(parts[:index])} is a file.", docs)
    return branch, head, repo.objects.lookup(tree, path)


def _check_sha(body: dict[str, Any], path: str, entry: TreeEntry, docs: str) -> None:
    if entry.mode == TREE_MODE:
        fail(422, f"Invalid request.\n\n{path} is a directory.", docs)
    if "sha" not in body or body["sha"] is None:
        fail(422, 'Invalid request.\n\n"sha" wasn\'t supplied.', docs)
    if body["sha"].lower() != entry.sha:
        fail(409, f"{path} does not match {body['sha']}", docs)


def _signatures(body: dict[str, Any], docs: str) -> tuple[Any, Any]:
    """Contents API: committer defaults to the token's user, author to the committer."""
    committer = parse_signature(body.get("committer"), "committer", authenticated_signature(), docs)
    author = parse_signature(body.get("author"), "author", committer, docs)
    return author, committer


def _answer(request: Request, repo: Repo, status: int, path: str, branch: str, sha: str,
            entry: TreeEntry | None) -> Response:  # fmt: skip
    api = api_base(request)
    commit = repo.objects.commits[sha]
    content = render.content_entry(api, repo, path, entry, branch) if entry else None
    return Response(
        status, {"content": content, "commit": render.git_commit(api, repo, sha, commit)}
    )


def put_contents(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_PUT)
    body = body_object(request)
    require_keys(body, ["message", "content"], DOCS_PUT)
    check_type(body, "message", str, docs=DOCS_PUT)
    check_type(body, "content", str, docs=DOCS_PUT)
    try:
        content = base64.b64decode(body["content"], validate=True)
    except (binascii.Error, ValueError):
        fail(422, "content is not valid Base64", DOCS_PUT)
    require_writable(repo)
    path = request.params["path"].strip("/")
    was_empty = repo.is_empty
    branch, head, entry = _target(repo, body, path, DOCS_PUT)
    if entry is not None:
        _check_sha(body, path, entry, DOCS_PUT)
    refusal = protection_refusal(repo, branch) if head else None
    if refusal:
        fail(409, refusal, DOCS_PUT)
    author, committer = _signatures(body, DOCS_PUT)
    blob = repo.objects.put_blob(content)
    new_entry = TreeEntry(entry.mode if entry else "100644", path.rsplit("/", 1)[-1], blob)
    sha = commit_changes(repo, branch, {path: new_entry}, body["message"], author, committer)
    if was_empty:
        repo.default_branch = branch  # the first branch pushed becomes the default
    return _answer(request, repo, 200 if entry else 201, path, branch, sha, new_entry)


def delete_contents(gh: FakeGitHub, request: Request) -> Response:
    repo = find_repo(gh, request, DOCS_DELETE)
    body = body_object(request)
    require_keys(body, ["message", "sha"], DOCS_DELETE)
    check_type(body, "message", str, docs=DOCS_DELETE)
    require_writable(repo)
    path = request.params["path"].strip("/")
    if repo.is_empty:
        fail(404, "Not Found", DOCS_DELETE)
    branch, _head, entry = _target(repo, body, path, DOCS_DELETE)
    if entry is None:
        fail(404, "Not Found", DOCS_DELETE)
    _check_sha(body, path, entry, DOCS_DELETE)
    refusal = protection_refusal(repo, branch)
    if refusal:
        fail(409, refusal, DOCS_DELETE)
    author, committer = _signatures(body, DOCS_DELETE)
    sha = commit_changes(repo, branch, {path: None}, body["message"], author, committer)
    return _answer(request, repo, 200, path, branch, sha, None)
