"""The import endpoints: thin, they parse, call a service or selector, and serialize."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import request_api_key
from api.parsers import BoundedJSONParser
from api.schema import error_responses
from courses.api.caps import active_courses_cap
from courses.api.views import UUID_PATTERN
from imports.api.parsers import BoundedCSVParser
from imports.api.serializers import (
    ImportDetailSerializer,
    ImportOptionsSerializer,
    ImportSerializer,
    PlanSerializer,
)
from imports.models import Import
from imports.parsing import ImportFileError
from imports.selectors import imports_visible
from imports.services import import_apply, import_plan, import_refresh

BODY_EXAMPLE = (
    "name,semester,type,groups,discordGuildId\n"
    "Algorithms,2026-fall,lecture,,\n"
    "Operating Systems,2026-fall,laboratory,Monday;Thursday,\n"
)


class ImportViewSet(viewsets.GenericViewSet):
    queryset = Import.objects.all()
    serializer_class = ImportSerializer
    lookup_value_regex = UUID_PATTERN
    parser_classes = [BoundedJSONParser, BoundedCSVParser]
    session_permissions = {
        "list": ("imports.view_import",),
        "retrieve": ("imports.view_import",),
        "create": ("imports.add_import", "courses.add_course"),
    }

    def get_queryset(self) -> QuerySet[Import]:
        return imports_visible(api_key=request_api_key(self.request))

    def get_object(self) -> Import:
        try:
            return super().get_object()
        except Http404:
            raise NotFound(f"No import with id {self.kwargs['pk']}.") from None

    @extend_schema(
        operation_id="imports_list",
        summary="List imports, newest first",
        responses={200: ImportSerializer(many=True), **error_responses(400)},
    )
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset().order_by("-created_at", "id"))
        return self.get_paginated_response(ImportSerializer(page, many=True).data)

    @extend_schema(
        operation_id="imports_retrieve",
        summary="An import, with what became of each row",
        responses={200: ImportDetailSerializer, **error_responses(404)},
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        record = import_refresh(import_id=self.get_object().id) or self.get_object()
        return Response(ImportDetailSerializer(record, context={"request": request}).data)

    @extend_schema(
        operation_id="imports_create",
        summary="Import courses from a CSV or JSON file; ?dryRun=true answers the plan",
        description=(
            "CSV (`text/csv`): the header `name,semester,type,groups,discordGuildId`, groups as "
            "`Monday;Thursday`. JSON: a list of objects with the same keys (groups a list or "
            "`Monday;Thursday`), or `{courses: [...]}`. Each row follows the rules of "
            "`POST /courses`."
        ),
        parameters=[ImportOptionsSerializer],
        request={
            "text/csv": {"type": "string", "example": BODY_EXAMPLE},
            "application/json": {"type": "array", "items": {"type": "object"}},
        },
        responses={
            200: OpenApiResponse(PlanSerializer, description="The plan (dryRun): nothing done."),
            202: OpenApiResponse(
                ImportDetailSerializer, description="Applied: courses created and queued."
            ),
            **error_responses(400, 413, 415, 429),
        },
    )
    def create(self, request: Request) -> Response:
        options = ImportOptionsSerializer(data=request.query_params.dict())
        options.is_valid(raise_exception=True)
        data: dict[str, Any] = options.validated_data
        body = request.data
        if isinstance(body, str):
            content, format = body, "csv"
        else:
            content, format = json.dumps(body), "json"
        try:
            if data["dryRun"]:
                plan = import_plan(content=content, format=format, priority=data["priority"])
                return Response(plan.as_dict())
            api_key = request_api_key(request)
            user = request.user if api_key is None and isinstance(request.user, User) else None
            # An ordinary key is held to its cap on active courses for the whole import.
            owner = api_key if api_key is not None and not api_key.is_admin else None
            with active_courses_cap(api_key=owner, user=None):
                record = import_apply(
                    content=content,
                    format=format,
                    priority=data["priority"],
                    all_or_nothing=data["allOrNothing"],
                    created_by_key=api_key,
                    created_by_user=user,
                )
        except ImportFileError as exc:
            raise ValidationError({"body": [str(exc)]}) from None
        url = request.build_absolute_uri(reverse("import-detail", args=[record.id]))
        return Response(
            ImportDetailSerializer(record, context={"request": request}).data,
            status=202,
            headers={"Location": url},
        )
