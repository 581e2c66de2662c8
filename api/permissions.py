"""Who may call the API: an API key, or staff signed in to the admin holding the model permissions
the admin itself would ask of them for the same thing.

A key is an integrator's: it may call every endpoint, and sees only the courses it created unless
it is an admin key (see courses.api.selectors.courses_visible). A person's session is held to
their Django permissions, so that the API never lets anyone do what the admin would refuse them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import permissions
from rest_framework.request import Request

from api.authentication import request_api_key


class HasApiKeyOrIsStaff(permissions.BasePermission):
    """An API key, or an active staff session holding the view's ``session_permissions``.

    ``session_permissions`` maps a view's action (``list``, ``create``, ``retry``…) to the
    permissions it needs; an action missing from it is refused to sessions. A view without the
    attribute needs staff status only (the schema and the docs).
    """

    message = "Only staff signed in to the admin, or a request with an API key, may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request_api_key(request) is not None:
            return True
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        required: dict[str, tuple[str, ...]] | None = getattr(view, "session_permissions", None)
        if required is None:
            return True
        action = getattr(view, "action", None)
        if action is None or action == "metadata":
            return True  # a 405 (no handler for the method) or OPTIONS: nothing is read or done
        needed = required.get(action)
        if needed is None:
            self.message = "Your account may not do this through the API."
            return False
        missing = [perm for perm in needed if not user.has_perm(perm)]
        if missing:
            # The instance is made per request by DRF: setting the message here is safe.
            self.message = f"Your account lacks the permission {', '.join(missing)} for this."
            return False
        return True
