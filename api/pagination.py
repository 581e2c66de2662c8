"""Page-number pagination whose parameters are validated: a bad ``page`` is a 400, not page 1."""

from __future__ import annotations

from typing import Any

from django.core.paginator import InvalidPage
from rest_framework import exceptions, pagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 100


def _positive_int(request: Request, name: str, maximum: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    error = exceptions.ValidationError(
        {name: [f"Give a whole number from 1{f' to {maximum}' if maximum else ' on'}."]}
    )
    if not raw.isascii() or not raw.isdigit():
        raise error
    try:
        value = int(raw)
    except ValueError:  # more digits than Python converts
        raise error from None
    if value < 1 or (maximum is not None and value > maximum):
        raise error
    return value


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 20
    page_size_query_param = "pageSize"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        return _positive_int(request, self.page_size_query_param, self.max_page_size) or (
            self.page_size
        )

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.request = request
        page_size = self.get_page_size(request)
        number = _positive_int(request, self.page_query_param) or 1
        paginator = self.django_paginator_class(queryset, page_size)
        try:
            self.page = paginator.page(number)
        except InvalidPage:
            raise exceptions.NotFound(
                f"Page {number} does not exist; there are {paginator.num_pages}."
            ) from None
        return list(self.page)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Items per page, 1 to {MAX_PAGE_SIZE} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
        ]
