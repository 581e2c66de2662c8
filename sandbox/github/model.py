"""The fake's in-memory state: organizations, repositories, git data, protection, labels."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.github.gitobj import ObjectStore

PLANS = ("free", "team")
# The sandbox user's (the token's) place in an organization: owner, plain member, or outsider.
ROLES = ("admin", "member", "none")
ORG_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REPO_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")

# The labels GitHub gives every new repository.
DEFAULT_LABELS = [
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
]

# Repository settings that are plain booleans in the API, with GitHub's defaults.
REPO_FLAGS: dict[str, bool] = {
    "has_issues": True,
    "has_projects": True,
    "has_downloads": True,
    "has_wiki": True,
    "has_pages": False,
    "is_template": False,
    "allow_forking": True,
    "web_commit_signoff_required": False,
    "allow_squash_merge": True,
    "allow_merge_commit": True,
    "allow_rebase_merge": True,
    "allow_auto_merge": False,
    "delete_branch_on_merge": False,
    "allow_update_branch": False,
    "use_squash_pr_title_as_default": False,
}


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Org:
    login: str
    id: int
    plan: str
    created_at: str = field(default_factory=now_iso)
    role: str = "admin"  # the token's role in it (see ROLES)
    rulesets: list[dict[str, Any]] = field(default_factory=list)  # sandbox.github.rulesets
    # People (sandbox.github.people): teams by slug, member logins (lower-cased), pending
    # invitations by id, and when each invitation was sent (the 24-hour limit's window).
    teams: dict[str, Any] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)
    invitations: dict[int, Any] = field(default_factory=dict)
    invitation_times: list[float] = field(default_factory=list)
    blocked_by: set[str] = field(default_factory=set)  # users who blocked the organization


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str | None
    default: bool = False


@dataclass
class Repo:
    id: int
    org: Org
    name: str
    description: str | None = None
    private: bool = False
    homepage: str | None = None
    archived: bool = False
    flags: dict[str, bool] = field(default_factory=lambda: dict(REPO_FLAGS))
    topics: list[str] = field(default_factory=list)
    default_branch: str = "main"
    objects: ObjectStore = field(default_factory=ObjectStore)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> commit sha
    protections: dict[str, dict[str, Any]] = field(default_factory=dict)  # branch -> settings
    labels: list[Label] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    pushed_at: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.org.login}/{self.name}"

    @property
    def is_empty(self) -> bool:
        """GitHub calls a repository empty while it has no ref at all (no commit pushed)."""
        return not self.refs

    def branch_head(self, branch: str) -> str | None:
        return self.refs.get(f"refs/heads/{branch}")

    def branches(self) -> list[str]:
        return sorted(
            ref[len("refs/heads/") :] for ref in self.refs if ref.startswith("refs/heads/")
        )

    def touch(self, pushed: bool = False) -> None:
        self.updated_at = now_iso()
        if pushed:
            self.pushed_at = self.updated_at


@dataclass
class Counters:
    """What benchmarks report: requests served and how often the limits answered instead."""

    requests: int = 0
    writes: int = 0
    unauthorized: int = 0
    primary_limited: int = 0
    secondary_limited: int = 0


class State:
    """Everything the fake knows; replaced wholesale on reset."""

    def __init__(self) -> None:
        self.orgs: dict[str, Org] = {}  # lower-cased login -> org (logins are case-insensitive)
        self.repos: dict[int, Repo] = {}
        self.names: dict[tuple[str, str], int] = {}  # (org, name) lower-cased -> repo id
        self.redirects: dict[tuple[str, str], int] = {}  # old names of renamed repos
        self.counters = Counters()
        self._next_id = {"org": 9000, "repo": 100000, "label": 500000, "ruleset": 700,
                         "team": 3000, "invitation": 40000}  # fmt: skip
        self.users: dict[int, str] = {}  # ids of logins seen (invitations by invitee_id)
        self.clock_offset = 0.0  # seconds the control API moved the sandbox clock forward
        self.started = time.time()

    def next_id(self, kind: str) -> int:
        self._next_id[kind] += 1
        return self._next_id[kind]

    # -- organizations --------------------------------------------------------------------------
    def create_org(self, login: str, plan: str = "team", role: str = "admin") -> Org:
        if not isinstance(login, str) or not ORG_LOGIN_RE.match(login):
            raise ValueError(
                f"invalid organization login {login!r}: use letters, digits and single hyphens, "
                "not at either end, at most 39 characters"
            )
        self.check_plan(plan)
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
        if login.lower() in self.orgs:
            raise ValueError(f"organization {login!r} already exists")
        org = Org(login=login, id=self.next_id("org"), plan=plan, role=role)
        self.orgs[login.lower()] = org
        return org

    @staticmethod
    def check_plan(plan: str) -> str:
        if plan not in PLANS:
            raise ValueError(f"unknown plan {plan!r}: expected one of {', '.join(PLANS)}")
        return plan

    def org(self, login: str) -> Org | None:
        return self.orgs.get(login.lower())

    # -- repositories ---------------------------------------------------------------------------
    def repo(self, owner: str, name: str) -> Repo | None:
        repo_id = self.names.get((owner.lower(), name.lower()))
        return self.repos.get(repo_id) if repo_id is not None else None

    def add_repo(self, org: Org, name: str) -> Repo:
        repo = Repo(id=self.next_id("repo"), org=org, name=name)
        repo.labels = [
            Label(self.next_id("label"), label, color, description, default=True)
            for label, color, description in DEFAULT_LABELS
        ]
        self.repos[repo.id] = repo
        self.names[(org.login.lower(), name.lower())] = repo.id
        self.redirects.pop((org.login.lower(), name.lower()), None)
        return repo

    def rename_repo(self, repo: Repo, new_name: str) -> None:
        old_key = (repo.org.login.lower(), repo.name.lower())
        new_key = (repo.org.login.lower(), new_name.lower())
        del self.names[old_key]
        self.names[new_key] = repo.id
        if old_key != new_key:
            self.redirects[old_key] = repo.id  # GitHub keeps redirecting the old name
        self.redirects.pop(new_key, None)
        repo.name = new_name

    def delete_repo(self, repo: Repo) -> None:
        del self.repos[repo.id]
        del self.names[(repo.org.login.lower(), repo.name.lower())]
        self.redirects = {key: rid for key, rid in self.redirects.items() if rid != repo.id}
