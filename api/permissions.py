"""Who may call the API: an API key, or staff signed in to the admin (e.g. from /api/docs)."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from api.authentication import request_api_key


class HasApiKeyOrIsStaff(permissions.BasePermission):
    message = "Only staff signed in to the admin, or a request with an API key, may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request_api_key(request) is not None:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_staff)
