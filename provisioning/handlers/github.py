"""GitHub steps: private repositories, their seeded content in one commit, branch protection.

A lecture has one repository, a laboratory one per group; the same three handlers serve both.
Repositories live in a shared organization, so a name we find taken is adopted only when the
repository carries this course's marker in its description.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from courses.models import Course, LabGroup
from integrations.errors import ConflictError, NotFoundError
from integrations.github.client import PlanLimitError, RepoInfo
from integrations.ratelimit import limit_store
from provisioning.context import StepContext
from provisioning.errors import ProvisioningConfigError, StepSkipped
from provisioning.models import ExternalResource, ResourceKind
from provisioning.naming import course_repository_names
from provisioning.resources import Found, resource_ensure, resource_get
from provisioning.seed_content import render_seed_files

GITHUB = ExternalResource.Provider.GITHUB


@dataclass(frozen=True)
class RepoTarget:
    name: str
    lab_group: LabGroup | None = None


def course_marker(course: Course) -> str:
    return f"[course:{course.id}]"


def repo_targets(course: Course) -> list[RepoTarget]:
    """The names ``provisioning.naming`` gives, each with its lab group (None for a lecture)."""
    groups = list(course.lab_groups.all()) if course.type == Course.Type.LABORATORY else []
    names = course_repository_names(course, group_numbers=[group.number for group in groups])
    if course.type == Course.Type.LECTURE:
        return [RepoTarget(names[0])]
    return [RepoTarget(name, group) for name, group in zip(names, groups, strict=True)]


def _description(course: Course, target: RepoTarget) -> str:
    what = f"{course.name} ({course.semester})"
    if target.lab_group is not None:
        what += f", lab group {target.lab_group.number}: {target.lab_group.name}"
    return f"{what}. Managed by course provisioning {course_marker(course)}"[:350]


def _found(repo: RepoInfo) -> Found:
    return Found(
        str(repo.id),
        url=repo.html_url,
        data={"full_name": repo.full_name, "default_branch": repo.default_branch},
    )


def _ours_or_conflict(ctx: StepContext, repo: RepoInfo) -> Found:
    if course_marker(ctx.course) not in repo.description:
        raise ProvisioningConfigError(
            f"Repository {repo.full_name} already exists and is not this course's (its "
            f"description lacks the marker {course_marker(ctx.course)}). Rename or delete it "
            "on GitHub, then retry."
        )
    return _found(repo)


def create_repos(ctx: StepContext) -> None:
    for target in repo_targets(ctx.course):

        def find(target: RepoTarget = target) -> Found | None:
            try:
                return _ours_or_conflict(ctx, ctx.github.get_repo(target.name))
            except NotFoundError:
                return None

        def create(target: RepoTarget = target) -> Found:
            try:
                repo = ctx.github.create_repo(
                    target.name, description=_description(ctx.course, target)
                )
            except ConflictError:
                # Taken: ours if an earlier run made it (answer lost), else a stranger's.
                return _ours_or_conflict(ctx, ctx.github.get_repo(target.name))
            return _found(repo)

        resource_ensure(
            ctx,
            provider=GITHUB,
            kind=ResourceKind.REPOSITORY,
            key=target.name,
            find=find,
            create=create,
            lab_group=target.lab_group,
        )


def seed_repos(ctx: StepContext) -> None:
    for target in repo_targets(ctx.course):
        repo = resource_get(ctx, provider=GITHUB, kind=ResourceKind.REPOSITORY, key=target.name)
        files = render_seed_files(ctx.course, target.lab_group, repo_name=target.name)

        def seed(
            target: RepoTarget = target,
            repo: ExternalResource = repo,
            files: dict[str, str] = files,
        ) -> Found:
            # Idempotent by itself: no commit when the tree is already there.
            sha = ctx.github.commit_files(
                target.name,
                branch=repo.data["default_branch"],
                files=files,
                message="Seed course material",
            )
            return Found(sha or "", url=repo.url, data={"files": sorted(files)})

        resource_ensure(
            ctx,
            provider=GITHUB,
            kind=ResourceKind.SEED,
            key=target.name,
            create=seed,
            lab_group=target.lab_group,
        )


def ruleset_name(semester: str) -> str:
    return f"course-provisioning {semester}"


def _semester_ruleset(ctx: StepContext) -> dict[str, str] | None:
    """The organization's ruleset for the course's semester, made if missing; None when the
    organization's plan refuses rulesets (remembered, so later courses go straight to
    per-repository protection).

    Remembered in the shared limit store (``integrations.ratelimit``: Redis when workers share
    one, kept a day, else the process's memory): the ruleset's id, so the semester's later
    courses make no call at all, and a refusal, so they do not ask again. A day later the
    refusal is forgotten and an upgraded organization gets its ruleset.
    """
    org = ctx.github.org.lower()
    store = limit_store()
    refused_key = f"github:rulesets-refused:{org}"
    if store.recall(refused_key):
        return None
    name = ruleset_name(ctx.course.semester)
    known_key = f"github:ruleset:{org}:{name}"
    known = store.recall(known_key)
    if known:
        return {"id": known, "name": name}
    try:
        found = ctx.github.find_org_ruleset(name)
        if found is None:
            pattern = f"{ctx.course.semester}-*"
            try:
                found = ctx.github.create_org_ruleset(name, repository_pattern=pattern)
            except ConflictError:  # another worker made it meanwhile
                found = ctx.github.find_org_ruleset(name)
    except PlanLimitError:
        store.remember(refused_key, "1")
        return None
    if found is None:
        raise ProvisioningConfigError(f"GitHub lost the ruleset {name} of {org}: retry.")
    store.remember(known_key, str(found["id"]))
    return {"id": str(found["id"]), "name": name}


def protect_repos(ctx: StepContext) -> None:
    if settings.GITHUB_PROTECTION_MODE == "ruleset":
        ruleset = _semester_ruleset(ctx)
        if ruleset is not None:
            for target in repo_targets(ctx.course):
                repo = resource_get(
                    ctx, provider=GITHUB, kind=ResourceKind.REPOSITORY, key=target.name
                )

                def covered(repo: ExternalResource = repo) -> Found:
                    # The semester's ruleset protects the repository: nothing to write.
                    return Found(
                        ruleset["id"],
                        url=f"{repo.url}/rules",
                        data={
                            "ruleset": ruleset["name"],
                            "required_approvals": 1,
                            "force_pushes": False,
                            "deletions": False,
                        },
                    )

                resource_ensure(
                    ctx,
                    provider=GITHUB,
                    kind=ResourceKind.PROTECTION,
                    key=target.name,
                    create=covered,
                    lab_group=target.lab_group,
                )
            return
        # The plan refuses rulesets: protect each repository as in branch mode.
    for target in repo_targets(ctx.course):
        repo = resource_get(ctx, provider=GITHUB, kind=ResourceKind.REPOSITORY, key=target.name)
        branch = repo.data["default_branch"]

        def protect(
            target: RepoTarget = target, repo: ExternalResource = repo, branch: str = branch
        ) -> Found:
            ctx.github.protect_branch(target.name, branch=branch)
            return Found(
                branch,
                url=f"{repo.url}/settings/branches",
                data={"required_approvals": 1, "force_pushes": False, "deletions": False},
            )

        try:
            resource_ensure(
                ctx,
                provider=GITHUB,
                kind=ResourceKind.PROTECTION,
                key=target.name,
                create=protect,
                lab_group=target.lab_group,
            )
        except PlanLimitError as exc:
            if settings.PROVISIONING_SKIP_UNAVAILABLE_PROTECTION:
                raise StepSkipped(str(exc)) from exc
            raise
