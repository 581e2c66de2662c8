"""The roster endpoints under /courses/{id}: members, their import and sync, invites, link sheet.

Thin: ``courses.roster`` plans, imports, removes and reads; these parse, call and serialize. The
course is looked up as the course endpoints do (a key sees its own courses; another's is a 404).
"""

from __future__ import annotations

import builtins
import json
from typing import Any

from django.http import HttpResponse
from django.urls import URLPattern, re_path, reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_api_key
from api.idempotency import idempotent
from api.parsers import BoundedJSONParser, bounded_body
from api.schema import IDEMPOTENCY_KEY_PARAMETER, error_responses
from courses.api.operations import OperationSerializer, operation_accepted, request_caller
from courses.api.selectors import courses_visible
from courses.api.views import UUID_PATTERN
from courses.models import Course, CourseMember
from courses.roster import (
    RosterInvalidError,
    course_invites,
    link_sheet_csv,
    member_json,
    member_remove,
    roster_import,
    roster_members,
    roster_plan,
    roster_sync,
)
from courses.roster_files import RosterFileError, RosterRow, roster_parse, roster_text

CSV_EXAMPLE = (
    "name,email,github,role,group\n"
    "Ada Lovelace,ada@example.edu,ada-l,instructor,\n"
    "Alan Turing,alan@example.edu,,student,1\n"
    "Grace Hopper,,ghopper,student,2\n"
)


class RosterCSVParser(BaseParser):
    """A ``text/csv`` body, bounded like the JSON ones (``API_MAX_BODY_BYTES``), read as UTF-8
    (with or without a BOM); a body that is not text says what it looks like instead."""

    media_type = "text/csv"

    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> str:
        body = bounded_body(stream, parser_context)
        try:
            return roster_text(body)
        except RosterFileError as exc:
            raise exceptions.ParseError(str(exc)) from None


class CSVRenderer(BaseRenderer):
    """``text/csv`` for the link sheet (the view answers the CSV itself; an error rendered here,
    for a client that accepts only CSV, is the usual JSON error body)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if isinstance(data, str):
            return data.encode()
        return JSONRenderer().render(data)


# --- documentation of the bodies -------------------------------------------------------------


class MemberSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    email = serializers.CharField(help_text="Empty when only a GitHub username was given.")
    github = serializers.CharField(help_text="The GitHub username; empty when none was given.")
    role = serializers.ChoiceField(choices=CourseMember.Role.choices)
    group = serializers.IntegerField(
        allow_null=True, help_text="The lab group's number (students of a laboratory)."
    )
    githubState = serializers.ChoiceField(
        choices=CourseMember.GitHubState.choices,
        help_text="Where the sync got them on GitHub: not_synced, waiting (for the invitation "
        "budget, until waitingUntil), pending (invited), active, removed, failed (githubDetail).",
    )
    githubDetail = serializers.CharField()
    waitingUntil = serializers.DateTimeField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()
    removedAt = serializers.DateTimeField(allow_null=True)


class RosterErrorSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        help_text="The file's line (the header is line 1); JSON: the item's number from 1."
    )
    field = serializers.CharField(help_text="name, email, github, role, group, or row.")
    reason = serializers.CharField()


class RosterRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    action = serializers.ChoiceField(choices=["add", "update", "unchanged"])
    memberId = serializers.UUIDField(allow_null=True, help_text="The member it updates.")
    name = serializers.CharField()
    email = serializers.CharField()
    github = serializers.CharField()
    role = serializers.ChoiceField(choices=CourseMember.Role.choices)
    group = serializers.IntegerField(allow_null=True)
    changes = serializers.ListField(child=serializers.CharField(), help_text="Fields updated.")


class RosterCountsSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    absent = serializers.IntegerField(
        help_text="Live members the file does not name: a file never removes anyone."
    )


class RosterPlanCountsSerializer(RosterCountsSerializer):
    invalidLines = serializers.IntegerField()


class RosterPlanSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = RosterErrorSerializer(many=True)  # type: ignore[assignment]  # a field, not .errors
    counts = RosterPlanCountsSerializer()
    rows = RosterRowSerializer(many=True)


class RosterSyncSerializer(serializers.Serializer):
    started = serializers.BooleanField()
    operationId = serializers.IntegerField(allow_null=True)
    pending = serializers.BooleanField(
        help_text="The change waits for the next sync (the course is not COMPLETED, or busy)."
    )
    reason = serializers.CharField(help_text="Why no sync started; empty when one did.")


class RosterImportSerializer(serializers.Serializer):
    counts = RosterCountsSerializer()
    sync = RosterSyncSerializer()


class MemberRemovedSerializer(serializers.Serializer):
    member = MemberSerializer()
    sync = RosterSyncSerializer()


class InviteSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="group-<number>, staff, or members (a lecture's).")
    group = serializers.IntegerField(allow_null=True)
    code = serializers.CharField()
    url = serializers.CharField()
    state = serializers.CharField()


class MembersListOptionsSerializer(serializers.Serializer):
    removed = serializers.BooleanField(
        default=False, help_text="true: members taken off the roster too (removedAt set)."
    )


class MembersImportOptionsSerializer(serializers.Serializer):
    dryRun = serializers.BooleanField(
        default=False, help_text="true: answer the plan (200) and change nothing."
    )


# --- the endpoints ---------------------------------------------------------------------------


COURSE_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)
MEMBER_ID = OpenApiParameter("memberId", OpenApiTypes.UUID, OpenApiParameter.PATH)


class CourseMembersViewSet(viewsets.ViewSet):
    """/courses/{id}/members, /members/{memberId}, /members/sync, /invites, /links.csv."""

    parser_classes = [BoundedJSONParser, RosterCSVParser]
    session_permissions = {
        "list": ("courses.view_course",),
        "invites": ("courses.view_course",),
        "links": ("courses.view_course",),
        "create": ("courses.change_course",),
        "destroy": ("courses.change_course",),
        "sync": ("courses.change_course",),
    }

    def _course(self, pk: str) -> Course:
        course = courses_visible(api_key=request_api_key(self.request)).filter(id=pk).first()
        if course is None:
            raise exceptions.NotFound(f"No course with id {pk}.")
        return course

    @extend_schema(
        operation_id="courses_members_list",
        summary="The course's roster, with each member's GitHub state",
        parameters=[COURSE_ID, MembersListOptionsSerializer],
        responses={200: MemberSerializer(many=True), **error_responses(400, 404)},
    )
    def list(self, request: Request, pk: str) -> Response:
        options = MembersListOptionsSerializer(data=request.query_params.dict())
        options.is_valid(raise_exception=True)
        members = roster_members(course=self._course(pk), removed=options.validated_data["removed"])
        return Response([member_json(member) for member in members])

    @extend_schema(
        operation_id="courses_members_import",
        summary="Add and update members from a roster (CSV or JSON); ?dryRun=true: the plan",
        description=(
            "CSV (`text/csv`, UTF-8 with or without a BOM): the header "
            "`name,email,github,role,group` (any order; `name` and one of `email`, `github` "
            "required), or JSON: a list of objects with those keys (or `{members: [...]}`). "
            "`role` is instructor, ta or student (empty: student); `group` is the lab group's "
            "number, required for a laboratory's students, empty for staff and lectures. Each "
            "member needs an email or a GitHub username. A line naming a live member (by email "
            "or username, any case) updates them; a file never removes anyone. All or nothing: "
            "any bad line is a 400 listing every one (`details`: `line <n>.<field>`), and "
            "nothing is imported. Then a SYNC_MEMBERS operation carries the roster to Discord "
            "and GitHub when the course is COMPLETED and idle (202, `sync.operationId`); "
            "otherwise the roster is saved and the sync is pending (201, `sync.reason`)."
        ),
        parameters=[COURSE_ID, MembersImportOptionsSerializer, IDEMPOTENCY_KEY_PARAMETER],
        request={
            "text/csv": {"type": "string", "example": CSV_EXAMPLE},
            "application/json": {"type": "array", "items": {"type": "object"}},
        },
        responses={
            200: OpenApiResponse(RosterPlanSerializer, description="The plan (dryRun)."),
            201: OpenApiResponse(RosterImportSerializer, description="Saved; sync pending."),
            202: OpenApiResponse(RosterImportSerializer, description="Saved; sync started."),
            **error_responses(400, 404, 409, 413, 415, 422),
        },
    )
    def create(self, request: Request, pk: str) -> Response:
        options = MembersImportOptionsSerializer(data=request.query_params.dict())
        options.is_valid(raise_exception=True)
        if options.validated_data["dryRun"]:  # writes nothing: no Idempotency-Key kept for it
            course = self._course(pk)
            return Response(roster_plan(course=course, rows=self._rows(request)).as_dict())
        return self._import(request, pk)

    def _rows(self, request: Request) -> builtins.list[RosterRow]:
        body = request.data
        try:
            if isinstance(body, str):
                return roster_parse(content=body, format="csv")
            return roster_parse(content=json.dumps(body), format="json")
        except RosterFileError as exc:
            raise exceptions.ValidationError({"body": [str(exc)]}) from None

    @idempotent
    def _import(self, request: Request, pk: str) -> Response:
        course = self._course(pk)
        rows = self._rows(request)
        api_key, user = request_caller(request)
        try:
            result = roster_import(
                course=course, rows=rows, requested_by_key=api_key, requested_by_user=user
            )
        except RosterInvalidError as exc:
            details: dict[str, list[str]] = {}
            for error in exc.plan.errors:
                details.setdefault(f"line {error['line']}.{error['field']}", []).append(
                    error["reason"]
                )
            raise exceptions.ValidationError(details) from None
        started = result.sync.operation is not None
        url = reverse("course-operations" if started else "course-members", args=[course.id])
        return Response(
            result.as_dict(),
            status=202 if started else 201,
            headers={"Location": request.build_absolute_uri(url)},
        )

    @extend_schema(
        operation_id="courses_members_remove",
        summary="Take a member off the roster; the sync removes their access",
        description="The member stays listed with ?removed=true. 202 when the sync started "
        "(its operation id in `sync`), 200 when it could not start now (`sync.reason`; the "
        "next sync removes them), 204 when the member was already removed.",
        parameters=[COURSE_ID, MEMBER_ID],
        request=None,
        responses={
            202: OpenApiResponse(MemberRemovedSerializer, description="Removed; sync started."),
            200: OpenApiResponse(MemberRemovedSerializer, description="Removed; sync pending."),
            204: OpenApiResponse(description="Already removed: nothing done."),
            **error_responses(404, 409),
        },
    )
    def destroy(self, request: Request, pk: str, memberId: str) -> Response:
        course = self._course(pk)
        member = CourseMember.objects.filter(course=course, id=memberId).first()
        if member is None:
            raise exceptions.NotFound(f"No member {memberId} in course {course.id}.")
        if member.removed_at is not None:
            return Response(status=204)
        api_key, user = request_caller(request)
        sync = member_remove(member=member, requested_by_key=api_key, requested_by_user=user)
        body = {"member": member_json(member), "sync": sync.as_dict()}
        return Response(body, status=202 if sync.operation is not None else 200)

    @extend_schema(
        operation_id="courses_members_sync",
        summary="Carry the roster to Discord and GitHub now (a SYNC_MEMBERS operation)",
        description="Invite links, teams, memberships and invitations (within the invitation "
        "budget; the rest wait). 409 while another operation of the course is pending or "
        "running, or when the course is not COMPLETED.",
        parameters=[COURSE_ID],
        request=None,
        responses={
            202: OpenApiResponse(OperationSerializer, description="The operation, queued."),
            **error_responses(404, 409),
        },
    )
    def sync(self, request: Request, pk: str) -> Response:
        return operation_accepted(request, self._course(pk), roster_sync)

    @extend_schema(
        operation_id="courses_invites",
        summary="The course's Discord invite links (made by the roster's sync)",
        parameters=[COURSE_ID],
        responses={200: InviteSerializer(many=True), **error_responses(404)},
    )
    def invites(self, request: Request, pk: str) -> Response:
        return Response(
            [
                {
                    "key": invite.key,
                    "group": invite.lab_group.number if invite.lab_group else None,
                    "code": invite.external_id,
                    "url": invite.url,
                    "state": invite.state,
                }
                for invite in course_invites(course=self._course(pk))
            ]
        )

    @extend_schema(
        operation_id="courses_link_sheet",
        summary="The link sheet: each live member's Discord invite and repository (CSV)",
        description="Columns name,email,github,role,group,invite,repository,githubState,"
        "githubDetail,waitingUntil. A laboratory's students get their group's invite and "
        "repository, a lecture's students the course's; staff the staff invite and every "
        "repository (space-separated).",
        parameters=[COURSE_ID],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The sheet."),
            **error_responses(404),
        },
    )
    def links(self, request: Request, pk: str) -> HttpResponse:
        course = self._course(pk)
        response = HttpResponse(link_sheet_csv(course=course), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="links-{course.id}.csv"'
        return response


def _route(pattern: str, actions: dict[str, Any], name: str, **initkwargs: Any) -> URLPattern:
    view = CourseMembersViewSet.as_view(actions, **initkwargs)
    return re_path(rf"^courses/(?P<pk>{UUID_PATTERN}){pattern}$", view, name=name)


urlpatterns = [
    _route("/members", {"get": "list", "post": "create"}, "course-members"),
    _route("/members/sync", {"post": "sync"}, "course-members-sync"),
    _route(
        rf"/members/(?P<memberId>{UUID_PATTERN})", {"delete": "destroy"}, "course-member-detail"
    ),
    _route("/invites", {"get": "invites"}, "course-invites"),
    _route(
        r"/links\.csv",
        {"get": "links"},
        "course-links",
        renderer_classes=[JSONRenderer, CSVRenderer],
    ),
]
