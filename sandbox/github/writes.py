"""Shared by the write endpoints: who commits, committing on a branch, protection rules."""

from __future__ import annotations

import time
from typing import Any

from sandbox.github.errors import fail
from sandbox.github.gitobj import Commit, Signature, TreeEntry, parse_date
from sandbox.github.model import Repo


def authenticated_signature(timestamp: int | None = None) -> Signature:
    """The token's user, as GitHub writes it when a commit names no author."""
    from sandbox.github.platform import USER_ID, USER_LOGIN

    return Signature(
        USER_LOGIN,
        f"{USER_ID}+{USER_LOGIN}@users.noreply.github.com",
        int(time.time()) if timestamp is None else timestamp,
    )


def parse_signature(value: Any, key: str, default: Signature, docs: str) -> Signature:
    """An ``author``/``committer`` object ``{name, email, date?}``; absent means ``default``."""
    if value is None:
        return default
    if not isinstance(value, dict):
        fail(422, f"Invalid request.\n\nFor 'properties/{key}', {value!r} is not an object.", docs)
    for field in ("name", "email"):
        if not isinstance(value.get(field), str) or not value[field]:
            fail(422, f'Invalid request.\n\n"{field}" wasn\'t supplied.', docs)
        if any(char in value[field] for char in "<>\n"):
            fail(422, f"Invalid request.\n\nFor 'properties/{field}', invalid characters.", docs)
    timestamp, offset = default.timestamp, default.offset_minutes
    if value.get("date") is not None:
        try:
            timestamp, offset = parse_date(str(value["date"]))
        except ValueError:
            fail(
                422,
                f"Invalid request.\n\nFor 'properties/date', {value['date']!r} is not a date-time.",
                docs,
            )
    return Signature(value["name"], value["email"], timestamp, offset)


def commit_changes(
    repo: Repo,
    branch: str,
    changes: dict[str, TreeEntry | None],
    message: str,
    author: Signature,
    committer: Signature,
) -> str:
    """Commit ``changes`` on top of ``branch`` (created in an empty repo) and move the branch."""
    parent = repo.branch_head(branch)
    base_tree = repo.objects.commits[parent].tree if parent else None
    tree = repo.objects.edit_tree(base_tree, changes)
    commit = Commit(tree, [parent] if parent else [], author, committer, message)
    sha = repo.objects.put_commit(commit)
    repo.refs[f"refs/heads/{branch}"] = sha
    repo.touch(pushed=True)
    return sha


def protection_refusal(
    repo: Repo, branch: str, *, force: bool = False, delete: bool = False
) -> str | None:
    """Why classic branch protection refuses this update, or None.

    Our token is an organization admin: as on GitHub, admins bypass the rules unless the
    protection sets ``enforce_admins``.
    """
    rules = repo.protections.get(branch)
    if rules is None or not rules["enforce_admins"]:
        return None
    if delete:
        return None if rules["allow_deletions"] else "Cannot delete this protected branch"
    if force and not rules["allow_force_pushes"]:
        return "Cannot force-push to this branch"
    if rules["required_pull_request_reviews"] is not None:
        return "Changes must be made through a pull request."
    checks = rules["required_status_checks"]
    if checks and (checks["contexts"] or checks["checks"]):
        context = (checks["contexts"] or [check["context"] for check in checks["checks"]])[0]
        return f'Required status check "{context}" is expected.'
    return None
