"""OpenAPI: the ``x-api-key`` security scheme, the error shape, and the extensions that document
what the strict input fields do not enforce themselves (see api.fields)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from api.authentication import HEADER

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description=(
        "Any string of 1 to 255 visible ASCII characters, unique per operation you mean. "
        "Sending the same key and body again returns the first response and does nothing new; "
        "the same key with another body is a 422. Keys are remembered for "
        "API_IDEMPOTENCY_TTL_HOURS."
    ),
    pattern=r"^[\x21-\x7e]{1,255}$",
)


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": HEADER,
            "description": "A key from `manage.py create_api_key NAME`, the admin, or API_KEY.",
        }


class DocumentedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "api.fields.DocumentedMixin"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, **self.target.documented}


class StrictInputSerializerExtension(OpenApiSerializerExtension):
    """Unknown fields are rejected: say so with ``additionalProperties: false``."""

    target_class = "api.fields.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (for the schema; api.exceptions builds it)."""

    statusCode = serializers.IntegerField(help_text="The HTTP status code.")
    error = serializers.CharField(help_text="The HTTP reason phrase, e.g. Conflict.")
    message = serializers.CharField(help_text="What went wrong, for a person to read.")
    details: serializers.Field = serializers.JSONField(  # subclasses narrow it
        allow_null=True,
        help_text="A 400's messages per field (see ValidationError), {existingId} for a "
        "duplicate (409), else null.",
    )


class FieldErrorsField(serializers.DictField):
    """``{field path: [messages]}``: see api.exceptions.field_errors."""


class ValidationErrorSerializer(ErrorSerializer):
    """A 400: ``details`` holds the messages per field."""

    details = FieldErrorsField(
        child=serializers.ListField(child=serializers.CharField()),
        allow_null=True,
        help_text=(
            "The messages per field: `{field: [message, ...]}`. Nested fields are dotted paths "
            "to the value in the request (`labGroups.0.number`); problems of the body as a "
            "whole (malformed JSON, not an object) are under `body`; a query parameter or a "
            "header is named as sent (`page`, `Idempotency-Key`)."
        ),
    )


ERROR_DESCRIPTIONS = {
    400: "Malformed JSON or invalid fields (details: the messages per field).",
    401: "Missing, unknown or revoked API key.",
    403: "Signed in to the admin without the model permission this needs (the message names it).",
    404: "No such resource.",
    405: "Method not allowed on this path.",
    406: "The Accept header asks for something other than JSON.",
    409: "Conflicts with the current state (message and details say how).",
    413: "The request body is too large.",
    415: "The body is not JSON (Content-Type: application/json).",
    422: "Idempotency-Key reused with a different request.",
    429: "A limit was hit (the message says which); see Retry-After.",
}
COMMON_ERRORS = (401, 403, 405, 406, 429)


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """The documented error responses of an operation: the common ones plus ``codes``."""
    return {
        code: OpenApiResponse(
            ValidationErrorSerializer if code == 400 else ErrorSerializer,
            description=ERROR_DESCRIPTIONS[code],
        )
        for code in sorted({*COMMON_ERRORS, *codes})
    }
