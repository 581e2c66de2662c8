"""The fake's whole state as plain JSON, for tests, benchmarks and the demo."""

from __future__ import annotations

import copy
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sandbox.github.limits import clock
from sandbox.github.model import Repo
from sandbox.github.people import snapshot as people_snapshot

if TYPE_CHECKING:
    from sandbox.github.platform import FakeGitHub


def snapshot(gh: FakeGitHub) -> dict[str, Any]:
    state = gh.state
    repos = sorted(state.repos.values(), key=lambda repo: repo.id)
    secondary = gh.secondary
    return {
        "options": {
            "primary_limit": gh.primary.limit,
            "secondary_limit": (
                {"requests": secondary.requests, "window": secondary.window} if secondary else None
            ),
        },
        "orgs": {
            org.login: {
                "id": org.id,
                "plan": org.plan,
                "role": org.role,
                "repos": [repo.name for repo in repos if repo.org is org],
                "people": people_snapshot(org),
            }
            for org in state.orgs.values()
        },
        "repos": {repo.full_name: repo_snapshot(repo) for repo in repos},
        "redirects": {f"{owner}/{name}": rid for (owner, name), rid in state.redirects.items()},
        "counters": {**asdict(state.counters), "primary": gh.primary.as_dict(clock())},
    }


def repo_snapshot(repo: Repo) -> dict[str, Any]:
    head = repo.branch_head(repo.default_branch)
    files: dict[str, str] = {}
    commits = 0
    if head is not None:
        commit = repo.objects.commits[head]
        files = {
            path: content.decode("utf-8", "replace")
            for path, content in sorted(repo.objects.files(commit.tree).items())
        }
        commits = len(repo.objects.ancestors(head))
    return {
        "id": repo.id,
        "name": repo.name,
        "description": repo.description,
        "private": repo.private,
        "archived": repo.archived,
        "topics": list(repo.topics),
        "default_branch": repo.default_branch,
        "has_wiki": repo.flags["has_wiki"],
        "empty": repo.is_empty,
        "branches": {name: repo.branch_head(name) for name in repo.branches()},
        "head": head,
        "commits": commits,
        "files": files,
        "protection": copy.deepcopy(dict(sorted(repo.protections.items()))),
        "labels": [label.name for label in repo.labels],
    }
