"""The JSON shapes GitHub answers with, key for key as in the recorded octokit fixtures.

API urls point back at the sandbox (``api`` is ``http://HOST:PORT/github/api/v3``) because
PyGithub follows the urls it is given (``repo.url``, ``branch.protection_url``...): pointing them at
api.github.com would send follow-up calls to the wrong path. Web urls (``html_url``) stay on
github.com, where nothing follows them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sandbox.github.gitobj import Commit, Signature, TreeEntry
from sandbox.github.model import Label, Org, Repo

WEB = "https://github.com"
RAW = "https://raw.githubusercontent.com"
PLAN_DETAILS = {
    "free": {"name": "free", "space": 976562499, "private_repos": 10000, "filled_seats": 1,
             "seats": 0},
    "team": {"name": "team", "space": 976562499, "private_repos": 999999, "filled_seats": 1,
             "seats": 5},
}  # fmt: skip


def node_id(kind: str, ident: int | str) -> str:
    """GitHub's legacy global node id: base64 of ``"010:Repository123"``."""
    return base64.b64encode(f"{len(kind):03d}:{kind}{ident}".encode()).decode()


def b64_lines(data: bytes) -> str:
    """Base64 wrapped at 60 characters with a trailing newline, as the contents API sends it."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))


# -- accounts ----------------------------------------------------------------------------------
def user(api: str, login: str, ident: int, kind: str = "User") -> dict[str, Any]:
    url = f"{api}/users/{login}"
    return {
        "login": login,
        "id": ident,
        "node_id": node_id(kind, ident),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{ident}?v=4",
        "gravatar_id": "",
        "url": url,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{url}/followers",
        "following_url": f"{url}/following{{/other_user}}",
        "gists_url": f"{url}/gists{{/gist_id}}",
        "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{url}/subscriptions",
        "organizations_url": f"{url}/orgs",
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events{{/privacy}}",
        "received_events_url": f"{url}/received_events",
        "type": kind,
        "site_admin": False,
    }


def fake_user_id(login: str) -> int:
    """A stable id for a login we do not model (protection restrictions name arbitrary users)."""
    return 2000000 + sum(ord(char) * (index + 1) for index, char in enumerate(login)) % 1000000


def team(api: str, org: Org, slug: str) -> dict[str, Any]:
    ident = fake_user_id(f"team:{slug}")
    url = f"{api}/organizations/{org.id}/team/{ident}"
    return {
        "name": slug,
        "id": ident,
        "node_id": node_id("Team", ident),
        "slug": slug,
        "description": None,
        "privacy": "closed",
        "url": url,
        "html_url": f"{WEB}/orgs/{org.login}/teams/{slug}",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "permission": "pull",
        "parent": None,
    }


def organization_simple(api: str, org: Org) -> dict[str, Any]:
    """The organization as other objects embed it (``organization-simple``)."""
    url = f"{api}/orgs/{org.login}"
    return {
        "login": org.login,
        "id": org.id,
        "node_id": node_id("Organization", org.id),
        "url": url,
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events",
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues",
        "members_url": f"{url}/members{{/member}}",
        "public_members_url": f"{url}/public_members{{/member}}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4",
        "description": None,
    }


def organization(api: str, org: Org, repos: list[Repo], *, owner: bool = True) -> dict[str, Any]:
    """``GET /orgs/{org}``; the fields from ``total_private_repos`` on (the plan among them) are
    shown to the organization's owners only."""
    public = sum(1 for repo in repos if not repo.private)
    private = len(repos) - public
    data: dict[str, Any] = {
        **organization_simple(api, org),
        "is_verified": False,
        "has_organization_projects": True,
        "has_repository_projects": True,
        "public_repos": public,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "html_url": f"{WEB}/{org.login}",
        "created_at": org.created_at,
        "updated_at": org.created_at,
        "type": "Organization",
    }
    if not owner:
        return data
    data |= {
        "total_private_repos": private,
        "owned_private_repos": private,
        "private_gists": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "billing_email": f"billing@{org.login.lower()}.example",
        "default_repository_permission": "read",
        "members_can_create_repositories": True,
        "two_factor_requirement_enabled": False,
        "members_allowed_repository_creation_type": "all",
        "members_can_create_public_repositories": True,
        "members_can_create_private_repositories": True,
        "members_can_create_internal_repositories": False,
        "members_can_create_pages": True,
        "members_can_fork_private_repositories": False,
        "members_can_create_public_pages": True,
        "members_can_create_private_pages": True,
        "web_commit_signoff_required": False,
        "plan": dict(PLAN_DETAILS[org.plan]),
    }
    return data


def membership(api: str, org: Org, login: str, ident: int) -> dict[str, Any]:
    """``GET /user/memberships/orgs/{org}``: the token's membership (``org-membership``)."""
    return {
        "url": f"{api}/orgs/{org.login}/memberships/{login}",
        "state": "active",
        "role": org.role,
        "organization_url": f"{api}/orgs/{org.login}",
        "organization": organization_simple(api, org),
        "user": user(api, login, ident),
        "permissions": {"can_create_repository": org.role == "admin"},
    }


# -- repositories ------------------------------------------------------------------------------
def repository(api: str, repo: Repo, *, clone_token: bool = False) -> dict[str, Any]:
    """The full repository object (GET answers also carry ``temp_clone_token``)."""
    url = f"{api}/repos/{repo.full_name}"
    html = f"{WEB}/{repo.full_name}"
    owner = user(api, repo.org.login, repo.org.id, "Organization")
    size = sum(len(blob) for blob in repo.objects.blobs.values()) // 1024
    data: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": owner,
        "html_url": html,
        "description": repo.description,
        "fork": False,
        "url": url,
    }
    for key, suffix in [
        ("forks_url", "forks"),
        ("keys_url", "keys{/key_id}"),
        ("collaborators_url", "collaborators{/collaborator}"),
        ("teams_url", "teams"),
        ("hooks_url", "hooks"),
        ("issue_events_url", "issues/events{/number}"),
        ("events_url", "events"),
        ("assignees_url", "assignees{/user}"),
        ("branches_url", "branches{/branch}"),
        ("tags_url", "tags"),
        ("blobs_url", "git/blobs{/sha}"),
        ("git_tags_url", "git/tags{/sha}"),
        ("git_refs_url", "git/refs{/sha}"),
        ("trees_url", "git/trees{/sha}"),
        ("statuses_url", "statuses/{sha}"),
        ("languages_url", "languages"),
        ("stargazers_url", "stargazers"),
        ("contributors_url", "contributors"),
        ("subscribers_url", "subscribers"),
        ("subscription_url", "subscription"),
        ("commits_url", "commits{/sha}"),
        ("git_commits_url", "git/commits{/sha}"),
        ("comments_url", "comments{/number}"),
        ("issue_comment_url", "issues/comments{/number}"),
        ("contents_url", "contents/{+path}"),
        ("compare_url", "compare/{base}...{head}"),
        ("merges_url", "merges"),
        ("archive_url", "{archive_format}{/ref}"),
        ("downloads_url", "downloads"),
        ("issues_url", "issues{/number}"),
        ("pulls_url", "pulls{/number}"),
        ("milestones_url", "milestones{/number}"),
        ("notifications_url", "notifications{?since,all,participating}"),
        ("labels_url", "labels{/name}"),
        ("releases_url", "releases{/id}"),
        ("deployments_url", "deployments"),
    ]:
        data[key] = f"{url}/{suffix}"
    flags = repo.flags
    data.update(
        {
            "created_at": repo.created_at,
            "updated_at": repo.updated_at,
            "pushed_at": repo.pushed_at or repo.created_at,
            "git_url": f"git://github.com/{repo.full_name}.git",
            "ssh_url": f"git@github.com:{repo.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": repo.homepage,
            "size": size,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": flags["has_issues"],
            "has_projects": flags["has_projects"],
            "has_downloads": flags["has_downloads"],
            "has_wiki": flags["has_wiki"],
            "has_pages": flags["has_pages"],
            "forks_count": 0,
            "mirror_url": None,
            "archived": repo.archived,
            "disabled": False,
            "open_issues_count": 0,
            "license": None,
            "allow_forking": flags["allow_forking"],
            "is_template": flags["is_template"],
            "web_commit_signoff_required": flags["web_commit_signoff_required"],
            "topics": list(repo.topics),
            "visibility": "private" if repo.private else "public",
            "forks": 0,
            "open_issues": 0,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "permissions": {
                "admin": True,
                "maintain": True,
                "push": True,
                "triage": True,
                "pull": True,
            },
        }
    )
    if clone_token:
        data["temp_clone_token"] = ""
    for key in (
        "allow_squash_merge",
        "allow_merge_commit",
        "allow_rebase_merge",
        "allow_auto_merge",
        "delete_branch_on_merge",
        "allow_update_branch",
        "use_squash_pr_title_as_default",
    ):
        data[key] = flags[key]
    data["organization"] = owner
    data["network_count"] = 0
    data["subscribers_count"] = 0
    return data


def label(api: str, repo: Repo, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("Label", item.id),
        "url": f"{api}/repos/{repo.full_name}/labels/{quote(item.name)}",
        "name": item.name,
        "color": item.color,
        "default": item.default,
        "description": item.description,
    }


# -- git data --------------------------------------------------------------------------------
def signature(sig: Signature) -> dict[str, Any]:
    return {"name": sig.name, "email": sig.email, "date": sig.iso()}


def git_commit(api: str, repo: Repo, sha: str, commit: Commit) -> dict[str, Any]:
    url = f"{api}/repos/{repo.full_name}/git/commits"
    return {
        "sha": sha,
        "node_id": node_id("Commit", sha),
        "url": f"{url}/{sha}",
        "html_url": f"{WEB}/{repo.full_name}/commit/{sha}",
        "author": signature(commit.author),
        "committer": signature(commit.committer),
        "tree": {
            "sha": commit.tree,
            "url": f"{api}/repos/{repo.full_name}/git/trees/{commit.tree}",
        },
        "message": commit.message,
        "parents": [
            {
                "sha": parent,
                "url": f"{url}/{parent}",
                "html_url": f"{WEB}/{repo.full_name}/commit/{parent}",
            }
            for parent in commit.parents
        ],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
        },
    }


def ref(api: str, repo: Repo, name: str, sha: str) -> dict[str, Any]:
    base = f"{api}/repos/{repo.full_name}/git"
    kind = repo.objects.kind(sha) or "commit"
    return {
        "ref": name,
        "node_id": node_id("Ref", f"{repo.id}:{name}"),
        "url": f"{base}/{name}",
        "object": {"sha": sha, "type": kind, "url": f"{base}/{kind}s/{sha}"},
    }


def tree_entry(api: str, repo: Repo, path: str, entry: TreeEntry) -> dict[str, Any]:
    base = f"{api}/repos/{repo.full_name}/git"
    data: dict[str, Any] = {
        "path": path,
        "mode": entry.api_mode,
        "type": entry.type,
        "sha": entry.sha,
    }
    if entry.type == "blob":
        data["size"] = len(repo.objects.blobs.get(entry.sha, b""))
        data["url"] = f"{base}/blobs/{entry.sha}"
    elif entry.type == "tree":
        data["url"] = f"{base}/trees/{entry.sha}"
    return data


def tree(api: str, repo: Repo, sha: str, recursive: bool = False) -> dict[str, Any]:
    items: Iterable[tuple[str, TreeEntry]]
    if recursive:
        items = repo.objects.flatten(sha).items()
    else:
        items = ((entry.name, entry) for entry in repo.objects.trees[sha])
    return {
        "sha": sha,
        "url": f"{api}/repos/{repo.full_name}/git/trees/{sha}",
        "tree": [tree_entry(api, repo, path, entry) for path, entry in items],
        "truncated": False,
    }


def blob(api: str, repo: Repo, sha: str) -> dict[str, Any]:
    content = repo.objects.blobs[sha]
    return {
        "sha": sha,
        "node_id": node_id("Blob", sha),
        "size": len(content),
        "url": f"{api}/repos/{repo.full_name}/git/blobs/{sha}",
        "content": b64_lines(content),
        "encoding": "base64",
    }


# -- branches and contents ---------------------------------------------------------------------
def branch(api: str, repo: Repo, name: str, sha: str) -> dict[str, Any]:
    commit = repo.objects.commits[sha]
    url = f"{api}/repos/{repo.full_name}"
    protection = repo.protections.get(name)
    checks = (protection or {}).get("required_status_checks") or {}
    if protection is None or not checks:
        level = "off"
    else:
        level = "everyone" if protection["enforce_admins"] else "non_admins"
    return {
        "name": name,
        "commit": {
            "sha": sha,
            "node_id": node_id("Commit", sha),
            "commit": {
                "author": signature(commit.author),
                "committer": signature(commit.committer),
                "message": commit.message,
                "tree": {"sha": commit.tree, "url": f"{url}/git/trees/{commit.tree}"},
                "url": f"{url}/git/commits/{sha}",
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            },
            "url": f"{url}/commits/{sha}",
            "html_url": f"{WEB}/{repo.full_name}/commit/{sha}",
            "comments_url": f"{url}/commits/{sha}/comments",
            "author": None,
            "committer": None,
            "parents": [
                {
                    "sha": parent,
                    "url": f"{url}/commits/{parent}",
                    "html_url": f"{WEB}/{repo.full_name}/commit/{parent}",
                }
                for parent in commit.parents
            ],
        },
        "_links": {
            "self": f"{url}/branches/{quote(name)}",
            "html": f"{WEB}/{repo.full_name}/tree/{quote(name)}",
        },
        "protected": protection is not None,
        "protection": {
            "enabled": protection is not None,
            "required_status_checks": {
                "enforcement_level": level,
                "contexts": list(checks.get("contexts", [])),
                "checks": [dict(check) for check in checks.get("checks", [])],
            },
        },
        "protection_url": f"{url}/branches/{quote(name)}/protection",
    }


def content_entry(
    api: str, repo: Repo, path: str, entry: TreeEntry, ref_name: str
) -> dict[str, Any]:
    """One item of a directory listing (also the ``content`` part of a file write's answer)."""
    kind = {"tree": "dir", "commit": "submodule"}.get(entry.type, "file")
    if entry.mode == "120000":
        kind = "symlink"
    url = f"{api}/repos/{repo.full_name}/contents/{quote(path)}?ref={quote(ref_name)}"
    html_kind = "tree" if kind == "dir" else "blob"
    html = f"{WEB}/{repo.full_name}/{html_kind}/{ref_name}/{quote(path)}"
    git = f"{api}/repos/{repo.full_name}/git/{'trees' if kind == 'dir' else 'blobs'}/{entry.sha}"
    size = len(repo.objects.blobs[entry.sha]) if entry.type == "blob" else 0
    download = f"{RAW}/{repo.full_name}/{ref_name}/{quote(path)}" if kind == "file" else None
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": entry.sha,
        "size": size,
        "url": url,
        "html_url": html,
        "git_url": git,
        "download_url": download,
        "type": kind,
        "_links": {"self": url, "git": git, "html": html},
    }


def content_file(
    api: str, repo: Repo, path: str, entry: TreeEntry, ref_name: str
) -> dict[str, Any]:
    """A file with its base64 content, as ``GET /contents/{path}`` answers for a file."""
    base = content_entry(api, repo, path, entry, ref_name)
    data: dict[str, Any] = {"type": base.pop("type"), "encoding": "base64"}
    data["size"] = base.pop("size")
    data["name"] = base.pop("name")
    data["path"] = base.pop("path")
    data["content"] = b64_lines(repo.objects.blobs[entry.sha])
    data.update(base)
    return data
