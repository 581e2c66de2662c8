"""The roster's people on GitHub: one team membership or organization invitation per member.

Each member has one seat: the staff team (instructors as maintainers), their lab group's team,
or a lecture's students team. A member with a GitHub username joins by team membership (which
invites them into the organization when they are not in it); one with only an email gets an
organization invitation carrying their team. Each seat is a ``MEMBERSHIP`` resource keyed
``member-<member id>:<team slug>``.

- Invitations are spent from the organization's budget (``provisioning.invitations``): the intent
  is written under the organization's lock, counted, before the call. Over budget the member
  WAITS (``waiting_until``), the step still completes, and the recovery sweep starts a sync when
  the window frees (``provisioning.people.invitations_due``).
- Over budget, a member with a GitHub username who is in the organization already (common: the
  university keeps students across courses) does not wait for a slot they would not use: one
  read (``is_org_member``, only then, at most once per member per attempt) and their intent is
  written uncounted (``invites`` False), then the PUT. Should GitHub answer ``pending`` anyway
  (they left the organization in between), it invited them: the seat counts from its intent,
  and the window may hold one more than the budget for that rare race. An email is always an
  invitation: it always waits.
- A crash between a call and its record leaves an intent: the next run looks first (the team
  membership, or the pending invitation for the email, ours only if it carries our team) and
  sends only if nothing is there, counting the intent again from then (it may be older than the
  24-hour window).
- A refusal that concerns one person (a user who blocked the organization, an unknown username,
  an email GitHub will not invite) fails that member with the reason, not the step.
- Pending seats are read back (one listing of the pending invitations, an email's matched by its
  recorded invitation id, and a membership read for a username no longer listed); people off the
  roster (``removed_at``) or moved to another team leave their team, or their pending invitation
  is cancelled.
- A removed seat's resource stays, retired (its key suffixed), so that its invitation keeps
  counting against the 24-hour window.
- A team is read by slug before the attempt's first call for it (``team_not_ours``): ours
  deleted by hand, or another team made under its name, gets nothing sent; its seats fail saying
  what staff must do, not the step. Deleted after that read, its next call is refused (404, or
  422 for an invitation carrying it): the team is read again, and, gone, takes the same path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from courses.models import Course, CourseMember
from integrations.errors import PermanentError, PlatformUnreachableError
from integrations.github.client import InvitationLimitError, OrgInvitation, TeamMembership
from provisioning.context import StepContext
from provisioning.handlers.github import course_marker
from provisioning.invitations import (
    invitation_org,
    invitation_respend,
    invitation_spare,
    invitation_spend,
    invitation_unspend,
)
from provisioning.models import ExternalResource, Operation, ResourceKind
from provisioning.resources import Found, resource_ensure

GITHUB = ExternalResource.Provider.GITHUB
CONFIRMED = ExternalResource.State.CONFIRMED
State = CourseMember.GitHubState
MEMBERSHIP, INVITATION = "membership", "invitation"
# GitHub drops an invitation nobody answered after 7 days.
INVITATION_LIFETIME = timedelta(days=7)
# GitHub refused an invitation over its limit although our budget had room (invitations sent by
# hand count there too): the waiting members are tried again after this long.
REFUSED_WAIT = timedelta(hours=1)


class _OverBudget(Exception):
    """An earlier attempt's intent, about to be sent, found no room in the window."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until)
        self.until = until


@dataclass(frozen=True)
class Seat:
    """A member's place in one team, and who GitHub knows them as."""

    member: CourseMember
    team: ExternalResource  # the TEAM resource

    @property
    def slug(self) -> str:
        return str(self.team.data.get("slug") or self.team.key)

    @property
    def key(self) -> str:
        return f"member-{self.member.id}:{self.team.key}"

    @property
    def kind(self) -> str:
        return MEMBERSHIP if self.member.github_username else INVITATION

    @property
    def team_id(self) -> int:
        return int(self.team.data.get("id") or self.team.external_id)

    @property
    def who(self) -> str:
        return (self.member.github_username or self.member.email).strip()

    @property
    def role(self) -> str:
        return "maintainer" if self.member.role == CourseMember.Role.INSTRUCTOR else "member"

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "team": self.slug,
            "team_id": self.team.data.get("id"),
            "role": self.role,
        }
        data["username" if self.kind == MEMBERSHIP else "email"] = self.who
        return data


def _who(record: ExternalResource) -> tuple[str, str]:
    data = record.data
    return data.get("kind", ""), str(data.get("username") or data.get("email") or "").lower()


def teams_checked(ctx: StepContext) -> dict[str, str | None]:
    """The teams read in this attempt (``team_not_ours``): slug -> why not ours, None if ours."""
    checked: dict[str, str | None] = ctx.cache.setdefault("teams_checked", {})
    return checked


def team_not_ours(
    ctx: StepContext, slug: str, team_id: int | None, *, again: bool = False
) -> str | None:
    """Why the team under ``slug`` must not be acted on, or None when it is still ours.

    Read by slug (1 read per team per attempt) before the attempt's first call that puts
    something in it or reads a seat of it, so none when nothing is sent to it (a re-sync with no
    change). A slug is a name, not an identity: our team deleted by hand and another made under
    its name would otherwise get our students and our repositories until a verify noticed. Ours
    has the id recorded when the sync made it and the course's marker in its description, as the
    tear down checks (``provisioning.handlers.teardown``). Not ours (or gone), nothing is sent
    to it: its seats fail and its grants are left, with this message, also kept on the
    operation (``params["teamProblems"]``). The step is not failed: a failed sync leaves the
    course FAILED, where verify and repair — which make our team again — are refused.

    ``again`` reads it even when it was read in this attempt: a call for it was refused in a way
    that a team deleted since answers (``_Sync.team_refused``; a grant's PUT refused 404 in
    ``provisioning.handlers.people.sync_github_teams``).
    """
    checked = teams_checked(ctx)
    if slug in checked and not again:
        return checked[slug]
    org, marker = ctx.github.org, course_marker(ctx.course)
    ctx.heartbeat()
    found = ctx.github.get_team(slug)
    then = "verify and repair the course (ours is made again), then sync its roster again."
    problem: str | None = None
    if found is None:
        problem = (
            f"GitHub team {slug} of {org} is gone: it was deleted by hand. Nothing was sent to "
            f"it: {then}"
        )
    elif found.id != team_id:
        problem = (
            f"GitHub team {slug} of {org} is not this course's any more: ours was deleted by "
            "hand and another team made under its name. Nothing was sent to it: rename or "
            f"delete that team on GitHub, then {then}"
        )
    elif marker not in found.description:
        problem = (
            f"GitHub team {slug} of {org} lacks this course's marker {marker} in its "
            "description. Nothing was sent to it: put the marker back if the team is this "
            "course's; if it is someone else's, rename or delete it on GitHub, then " + then
        )
    checked[slug] = problem
    if problem is not None:
        team_problem_record(ctx, slug, problem)
    return problem


def team_problem_record(ctx: StepContext, slug: str, problem: str) -> None:
    """Keep ``problem`` on the step's operation (``params["teamProblems"]``, by team slug, or
    ``<team>:<repository>`` for a grant), where its ``detail`` shows it to staff."""
    operation = ctx.step.operation
    if operation is None:
        return
    problems = {**(operation.params.get("teamProblems") or {}), slug: problem}
    operation.params = {**operation.params, "teamProblems": problems}
    Operation.objects.filter(id=operation.id).update(params=operation.params)


def _purpose(course: Course, member: CourseMember) -> str | None:
    if member.role in CourseMember.STAFF:
        return "staff"
    if course.type == Course.Type.LECTURE:
        return "students"
    return f"group-{member.lab_group.number}" if member.lab_group else None


class _Pending:
    """The organization's pending invitations, read once per attempt and only when needed."""

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self._listed: list[OrgInvitation] | None = None

    def all(self) -> list[OrgInvitation]:
        if self._listed is None:
            self._listed = self.ctx.github.list_org_invitations()
        return self._listed

    def logins(self) -> set[str]:
        return {i.login.lower() for i in self.all() if i.login}

    def ids(self) -> set[str]:
        return {str(i.id) for i in self.all()}

    def for_email(self, email: str) -> OrgInvitation | None:
        wanted = email.lower()
        return next((i for i in self.all() if (i.email or "").lower() == wanted), None)

    def ours(self, email: str, team_id: int) -> OrgInvitation | None:
        """The pending invitation for ``email`` when it carries our team, else None. GitHub
        holds one invitation per email in the organization, so the one found may be another
        course's (another team), or one sent by hand: taken for ours, this course would believe
        the person invited to its team. Its teams are read (1 read, only on this rare recovery
        path; none when it carries no team). Gone by then (404: accepted or cancelled meanwhile)
        it is not found either: we cannot tell whose it was."""
        invitation = self.for_email(email)
        if invitation is None or invitation.team_count == 0:
            return None
        team_ids = self.ctx.github.invitation_team_ids(invitation.id)
        return invitation if team_ids and team_id in team_ids else None


class _Sync:
    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx
        self.course = ctx.course
        self.org = invitation_org(course=ctx.course)
        self.pending = _Pending(ctx)
        self.refused_until: datetime | None = None  # GitHub refused over its limit: stop asking
        self.org_members: dict[str, bool] = {}  # username (lowercase) -> read in the organization
        self.team_ids: dict[str, int] = {}  # slug -> the id recorded for the course's team
        self.counts = {"sent": 0, "waiting": 0, "failed": 0, "removed": 0}

    def not_ours(self, slug: str, team_id: Any = None, *, again: bool = False) -> str | None:
        """``team_not_ours`` against the id recorded for the course's team of that slug, else
        the one recorded with the seat (its team no longer the course's: the seat is leaving)."""
        recorded = self.team_ids.get(slug) or (int(team_id) if team_id else None)
        return team_not_ours(self.ctx, slug, recorded, again=again)

    def team_refused(self, seat: Seat, exc: PermanentError) -> str | None:
        """Why the seat's team must not be acted on, when GitHub refused a call for it the way
        it answers for a team deleted since this attempt read it: a membership's PUT 404, an
        invitation carrying it 404 or 422 (the sandbox's "invalid team_ids"). The team is read
        again (1 read, on such a refusal only) by ``team_not_ours``, which records the problem
        as when it finds the team gone before the first call: no more calls for it in this
        attempt, its seats fail saying what staff must do, the step completes. None: the team is
        still ours, and the refusal is about the person, the organization or the token."""
        if isinstance(exc, PlatformUnreachableError) or exc.status not in (404, 422):
            return None
        if exc.status == 422 and seat.kind == MEMBERSHIP:
            return None  # a membership's PUT to a team gone answers 404
        self.ctx.heartbeat()
        return self.not_ours(seat.slug, seat.team_id, again=True)

    def team_failed(
        self, seat: Seat, record: ExternalResource, problem: str, *, fresh: bool
    ) -> None:
        """Nothing was sent to the seat's team (``team_not_ours``): the seat fails with what
        staff must do, not the step."""
        if fresh:
            record.delete()  # nothing was sent: the slot goes back
        self.counts["failed"] += 1
        self.show(seat.member, State.FAILED, problem)

    # -- the member's state, as shown on the roster -------------------------------------------
    def show(
        self,
        member: CourseMember | None,
        state: str,
        detail: str,
        waiting_until: datetime | None = None,
    ) -> None:
        if member is None:
            return
        detail = detail[:500]
        if (member.github_state, member.github_detail, member.waiting_until) == (
            state,
            detail,
            waiting_until,
        ):
            return
        CourseMember.objects.filter(id=member.id).update(
            github_state=state,
            github_detail=detail,
            waiting_until=waiting_until,
            updated_at=timezone.now(),
        )
        member.github_state, member.github_detail = state, detail
        member.waiting_until = waiting_until

    def show_record(self, member: CourseMember | None, record: ExternalResource) -> None:
        data = record.data
        team, state = data.get("team", ""), data.get("state")
        if state == "refused":
            self.show(member, State.FAILED, str(data.get("reason", "Refused by GitHub.")))
        elif data.get("kind") == MEMBERSHIP:
            if state == "active":
                self.show(member, State.ACTIVE, f"In team {team}.")
            else:
                self.show(
                    member,
                    State.PENDING,
                    f"Invited to {self.org} with team {team}; not accepted yet.",
                )
        elif state == "active":
            self.show(member, State.ACTIVE, f"Accepted the invitation to {self.org} (team {team}).")
        elif state == "gone":
            self.show(
                member,
                State.FAILED,
                f"The invitation to {data.get('email')} is no longer pending after 7 days: "
                "accepted or expired. Give their GitHub username to check, or remove and add "
                "them again to invite them anew.",
            )
        else:
            self.show(
                member,
                State.PENDING,
                f"Invitation sent to {data.get('email')} with team {team}; not accepted yet.",
            )

    # -- 1. what became of the pending seats ----------------------------------------------------
    def read_back(self, records: list[ExternalResource]) -> None:
        pending = [r for r in records if r.state == CONFIRMED and r.data.get("state") == "pending"]
        if not pending:
            return
        self.ctx.heartbeat()
        logins = self.pending.logins()
        now = timezone.now()
        for record in pending:
            data = record.data
            if data.get("kind") == MEMBERSHIP:
                username = str(data.get("username", ""))
                if username.lower() in logins:
                    continue  # still invited
                if self.not_ours(str(data["team"]), data.get("team_id")):
                    continue  # not read in another's team: the seat shows why (sync_memberships)
                found = self.ctx.github.get_team_membership(str(data["team"]), username)
                if found is None:
                    # The invitation expired (or was declined): the seat is missing, a new
                    # invitation is sent below, from the budget.
                    self.retire(record, "invitation expired")
                    continue
                self.update(record, state=found.state)
            elif not self.still_invited(record):
                young = now - record.created_at < INVITATION_LIFETIME
                self.update(record, state="active" if young else "gone")

    def still_invited(self, record: ExternalResource) -> bool:
        """Whether an email seat's invitation is still listed: by the id recorded with it, not
        by its email. GitHub holds one invitation per email, so after ours expired (or was
        cancelled) another course's, or one sent by hand, may be listed for the same email: by
        email ours would show as pending forever. The email only for a record with no id."""
        if record.external_id:
            return record.external_id in self.pending.ids()
        return self.pending.for_email(str(record.data.get("email", ""))) is not None

    def update(self, record: ExternalResource, **changes: Any) -> None:
        if all(record.data.get(k) == v for k, v in changes.items()):
            return
        record.data = {**record.data, **changes}
        record.save(update_fields=["data", "updated_at"])

    def retire(self, record: ExternalResource, reason: str) -> None:
        """The seat is over; its row stays (its invitation still counts in the window) under a
        key of its own, leaving the seat's key free for a new one."""
        record.data = {
            **record.data,
            "removed": True,
            "removed_at": timezone.now().isoformat(),
            "removed_because": reason,
        }
        record.key = f"{record.key}~{record.id}"[:200]
        record.save(update_fields=["data", "key", "updated_at"])

    # -- 2. people off the roster, or moved -----------------------------------------------------
    def remove(self, record: ExternalResource, member: CourseMember | None) -> None:
        data = record.data
        team = str(data.get("team", ""))
        self.ctx.heartbeat()
        if data.get("state") == "refused":
            detail = "Removed from the roster."  # GitHub had refused them: nothing to undo
        elif data.get("kind") == MEMBERSHIP:
            username = str(data.get("username", ""))
            problem = self.not_ours(team, data.get("team_id"))
            if problem is not None:
                # Nobody is taken out of another's team; the seat stays until a repair forgets
                # it with our team (which took it along when it was deleted).
                self.counts["failed"] += 1
                self.show(member, State.FAILED, problem)
                return
            # False when they were not in it: an earlier run removed them, or never added them.
            self.ctx.github.remove_team_membership(team, username)
            detail = f"Removed from team {team}."
        else:
            invitation_id = record.external_id if record.state == CONFIRMED else ""
            if data.get("state") in ("active", "gone"):
                invitation_id = ""  # accepted or expired: there is no invitation left to cancel
            elif not invitation_id:  # an intent: the invitation may have been sent, look
                # Only one carrying our team: another course's invitation is not ours to cancel.
                email, team_id = str(data.get("email", "")), int(data.get("team_id") or 0)
                found = self.pending.ours(email, team_id)
                invitation_id = str(found.id) if found else ""
            cancelled = bool(invitation_id) and self.ctx.github.cancel_org_invitation(
                int(invitation_id)
            )
            if cancelled:
                detail = f"Invitation to {self.org} cancelled."
            elif data.get("state") == "active":
                detail = (
                    f"Had accepted the invitation to {self.org}; no GitHub username is known, so "
                    f"remove them from team {team} on GitHub by hand."
                )
            else:
                # Accepted since the last read back, expired or cancelled: we cannot tell.
                detail = (
                    f"The invitation to {self.org} was no longer pending (accepted or expired); "
                    f"if they accepted, no GitHub username is known, so remove them from team "
                    f"{team} on GitHub by hand."
                )
        self.ctx.heartbeat()
        self.retire(record, "removed from the roster")
        self.counts["removed"] += 1
        if member is not None and member.removed_at is not None:
            self.show(member, State.REMOVED, detail)

    # -- 3. seats to fill ---------------------------------------------------------------------
    def in_org(self, seat: Seat) -> bool:
        """Whether the seat's username is in the organization already, so that its team
        membership invites nobody. Asked only when there is no room for an invitation (the
        common case costs no call), read at most once per member per attempt; an email is
        always invited."""
        if seat.kind != MEMBERSHIP:
            return False
        username = seat.who.lower()
        if username not in self.org_members:
            self.ctx.heartbeat()
            self.org_members[username] = self.ctx.github.is_org_member(seat.who)
        return self.org_members[username]

    def intend(self, seat: Seat) -> ExternalResource | None:
        """The seat's intent, written before its call: a slot of the budget, or, with no room
        (ours, or GitHub refused in this run), uncounted for a username in the organization
        already. Otherwise the member waits: None."""
        until = self.refused_until
        if until is None:
            spent = invitation_spend(
                course=self.course,
                key=seat.key,
                member=seat.member,
                lab_group=seat.team.lab_group,
                data=seat.data(),
            )
            if spent.resource is not None:
                return spent.resource
            assert spent.waiting_until is not None
            until = spent.waiting_until
        if self.in_org(seat):
            return invitation_spare(
                course=self.course,
                key=seat.key,
                member=seat.member,
                lab_group=seat.team.lab_group,
                data=seat.data(),
            )
        self.wait(seat.member, until)
        return None

    def add(self, seat: Seat, record: ExternalResource | None) -> None:
        member = seat.member
        fresh = record is None
        if record is None:
            record = self.intend(seat)
            if record is None:
                return  # waiting
        problem = self.not_ours(seat.slug, seat.team_id)
        if problem is not None:
            self.team_failed(seat, record, problem, fresh=fresh)
            return
        base = {**record.data, **seat.data()}

        def membership_found(membership: TeamMembership, *, sent: bool = True) -> Found:
            # An active member answering our PUT was in the organization already: no invitation
            # spent. One found active after a lost answer may have accepted ours since: counted,
            # unless its intent was uncounted (``invites`` False: they were read to be in the
            # organization just before the PUT). "pending" means GitHub invited them: counted
            # from the intent's time, just before the PUT. For an uncounted intent they left the
            # organization between our read and the PUT; the window may then hold one more than
            # the budget (a rare race, accepted rather than a read after every PUT).
            spared = record.data.get("invites") is False
            invites = membership.state == "pending" or not (sent or spared)
            return Found(
                membership.username,
                url=seat.team.url,
                data={**base, "state": membership.state, "invites": invites},
            )

        def invitation_found(invitation: OrgInvitation) -> Found:
            return Found(
                str(invitation.id),
                url=seat.team.url,
                data={**base, "state": "pending", "invites": True},
            )

        def find() -> Found | None:
            if fresh:
                return None  # our own intent, written just now: nothing can be there yet
            if seat.kind == MEMBERSHIP:
                membership = self.ctx.github.get_team_membership(seat.slug, seat.who)
                return membership_found(membership, sent=False) if membership else None
            # Not ours (another course's team): the POST then meets GitHub's "already invited",
            # and the member FAILS asking for a username, as without the crash.
            invitation = self.pending.ours(seat.who, seat.team_id)
            return invitation_found(invitation) if invitation else None

        def send() -> Found:
            if not fresh:
                # An earlier attempt's intent (it died before its call): counted from now, or,
                # with no room, uncounted for a username in the organization already, or the
                # member waits (its intent stays, counted no more, and is sent later).
                until = invitation_respend(course=self.course, resource=record)
                if until is not None:
                    if not self.in_org(seat):
                        raise _OverBudget(until)
                    invitation_unspend(resource=record)
            if seat.kind == MEMBERSHIP:
                return membership_found(
                    self.ctx.github.set_team_membership(seat.slug, seat.who, role=seat.role)
                )
            return invitation_found(
                self.ctx.github.invite_to_org(email=seat.who, team_ids=[seat.team_id])
            )

        try:
            done = resource_ensure(
                self.ctx,
                provider=GITHUB,
                kind=ResourceKind.MEMBERSHIP,
                key=seat.key,
                find=find,
                create=send,
                lab_group=seat.team.lab_group,
            )
        except _OverBudget as over:
            self.wait(member, over.until)
            return
        except InvitationLimitError:
            # Nothing was sent: give the slot back, and send no more invitations in this run.
            record.delete()
            self.refused_until = timezone.now() + REFUSED_WAIT
            self.wait(member, self.refused_until, refused=True)
            return
        except PermanentError as exc:
            # The team deleted by hand since this attempt read it: as when found gone before
            # the call (an earlier attempt's intent is kept then too).
            problem = self.team_refused(seat, exc)
            if problem is not None:
                self.team_failed(seat, record, problem, fresh=fresh)
                return
            reason = self.refusal(seat, exc)
            # Refused: nothing was sent, nothing is counted. The seat is recorded as refused so
            # that a re-sync does not ask again; a change of the member's username or email on
            # the roster (another identity) retires it and asks anew.
            data = {**base, "state": "refused", "invites": False, "reason": reason}
            ExternalResource.objects.filter(id=record.id).update(
                state=CONFIRMED, external_id="", data=data, member=member
            )
            self.counts["failed"] += 1
            self.show(member, State.FAILED, reason)
            return
        if done.member_id is None:
            ExternalResource.objects.filter(id=done.id).update(member=member)
        self.counts["sent"] += 1
        self.show_record(member, done)

    def refusal(self, seat: Seat, exc: PermanentError) -> str:
        """Why GitHub refused this one person, or raise: a refusal that is not about them (the
        token, the organization) fails the step. Its team is still ours (``team_refused``)."""
        if isinstance(exc, PlatformUnreachableError) or exc.status not in (404, 422):
            raise exc
        if exc.status == 404:
            if seat.kind != MEMBERSHIP:
                raise exc  # an email is no user: the organization or the token is the problem
            return f"GitHub has no user named {seat.who}: check the username."
        what = f"add {seat.who} to team {seat.slug}" if seat.kind == MEMBERSHIP else "invite it"
        detail = exc.message.rsplit(": ", 1)[-1]
        if seat.kind == MEMBERSHIP:
            return (
                f"GitHub refused to {what} (422 {detail}): they may have blocked the "
                f"organization {self.org}."
            )
        return (
            f"GitHub refused the invitation to {seat.who} (422 {detail}): the address may "
            f"already have a pending invitation to {self.org} (another course's) or belong to "
            "a member; give their GitHub username instead."
        )

    def wait(self, member: CourseMember, until: datetime, *, refused: bool = False) -> None:
        self.counts["waiting"] += 1
        budget = settings.GITHUB_INVITATION_BUDGET
        why = (
            f"GitHub refused more invitations to {self.org} for now"
            if refused
            else f"{self.org} has spent its {budget} invitations of the last 24 hours"
        )
        self.show(
            member,
            State.WAITING,
            f"Waiting: {why}; sent from {_clock(until)} on.",
            waiting_until=until,
        )

    def role_update(self, seat: Seat, record: ExternalResource) -> None:
        """An instructor who was a TA (or back): the same seat with another team role, one PUT
        (no new invitation: they are invited or in already)."""
        if seat.kind != MEMBERSHIP or record.data.get("role") == seat.role:
            return
        if record.data.get("state") not in ("pending", "active"):
            return  # refused: nobody to change
        if self.not_ours(seat.slug, seat.team_id):
            return  # the seat shows why (sync_memberships)
        self.ctx.heartbeat()
        try:
            found = self.ctx.github.set_team_membership(seat.slug, seat.who, role=seat.role)
        except PermanentError as exc:
            if self.team_refused(seat, exc) is None:
                raise
            return  # deleted since it was read: the seat shows why (sync_memberships)
        self.update(record, role=seat.role, state=found.state)


def _clock(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%H:%M")


def sync_memberships(ctx: StepContext) -> None:
    course = ctx.course
    sync = _Sync(ctx)
    teams = {
        str(team.data.get("purpose")): team
        for team in ExternalResource.objects.filter(
            course=course, provider=GITHUB, kind=ResourceKind.TEAM, state=CONFIRMED
        )
    }
    sync.team_ids = {
        str(team.data.get("slug") or team.key): int(team.data.get("id") or team.external_id)
        for team in teams.values()
    }
    members = sorted(
        course.members.select_related("lab_group"),
        key=lambda m: (m.role not in CourseMember.STAFF, m.created_at, str(m.id)),
    )
    by_id = {member.id: member for member in members}
    seats: list[Seat] = []
    for member in members:
        if member.removed_at is not None:
            continue
        purpose = _purpose(course, member)
        team = teams.get(purpose) if purpose else None
        if not (member.github_username or member.email):
            sync.show(member, State.NOT_SYNCED, "No GitHub username or email on the roster.")
        elif purpose is None:
            sync.show(member, State.NOT_SYNCED, "Not in a lab group: give them one.")
        elif team is None:
            sync.show(member, State.NOT_SYNCED, f"No GitHub team for {purpose} yet.")
        else:
            seats.append(Seat(member, team))
    wanted = {seat.key: seat for seat in seats}

    records = [
        record
        for record in ExternalResource.objects.filter(
            course=course, provider=GITHUB, kind=ResourceKind.MEMBERSHIP
        ).order_by("id")
        if not record.data.get("removed")
    ]
    sync.read_back([r for r in records if r.key in wanted])
    records = [r for r in records if not r.data.get("removed")]
    for record in records:
        seat = wanted.get(record.key)
        if seat is None or _who(record) != (seat.kind, seat.who.lower()):
            sync.remove(record, by_id.get(record.member_id) if record.member_id else None)
    live = {record.key: record for record in records if not record.data.get("removed")}
    for seat in seats:
        held = live.get(seat.key)
        if held is not None and held.state == CONFIRMED:
            sync.role_update(seat, held)
            # Its team found not ours in this attempt: the seat went with ours, say so.
            problem = teams_checked(ctx).get(seat.slug)
            if problem is not None:
                sync.show(seat.member, State.FAILED, problem)
            else:
                sync.show_record(seat.member, held)
        else:
            sync.add(seat, held)
    # A team found gone or not ours in this attempt took its seats with it, those shown before
    # it was found so too (it was deleted by hand after their call, or they needed none).
    for seat in seats:
        problem = teams_checked(ctx).get(seat.slug)
        if problem is not None:
            sync.show(seat.member, State.FAILED, problem)

    seated = {record.member_id for record in live.values()}
    for member in members:
        gone = member.removed_at is not None and member.github_state != State.REMOVED
        if gone and member.id not in seated:
            sync.show(member, State.REMOVED, "Removed from the roster.")
    _summarize(ctx, sync, members)


def _summarize(ctx: StepContext, sync: _Sync, members: list[CourseMember]) -> None:
    """What this sync did and what waits, on the operation (the API shows its params): "38
    invitations waiting; next at 09:12"."""
    waiting = [
        m.waiting_until
        for m in members
        if m.removed_at is None and m.github_state == State.WAITING and m.waiting_until
    ]
    detail = (
        f"{len(waiting)} invitation{'s' if len(waiting) != 1 else ''} waiting; "
        f"next at {_clock(min(waiting))}"
        if waiting
        else "No invitation waiting."
    )
    operation = ctx.step.operation
    if operation is None:
        return
    # A team found not ours (by this step or the teams' one) comes first: it needs staff.
    problems = (operation.params.get("teamProblems") or {}).values()
    params = {
        **operation.params,
        "detail": " ".join([*problems, detail]),
        "github": {
            **sync.counts,
            "waiting": len(waiting),
            "nextAt": min(waiting).isoformat() if waiting else None,
        },
    }
    Operation.objects.filter(id=operation.id).update(params=params)
    operation.params = params
