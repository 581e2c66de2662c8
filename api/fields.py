"""Serializer building blocks for input that is checked for shape here and for rules by services.

The serializers check only JSON types, presence and unknown fields; lengths, patterns and ranges
are the services' job (one set of rules and messages for the API, the admin and the CLI). The
``documented`` constraints describe those rules in the OpenAPI schema without enforcing them
twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers


class DocumentedMixin:
    """Extra JSON Schema keywords for this field (see api.schema.DocumentedFieldExtension)."""

    def __init__(self, *args: Any, documented: dict[str, Any] | None = None, **kwargs: Any):
        self.documented = documented or {}
        super().__init__(*args, **kwargs)


class StrictCharField(DocumentedMixin, serializers.CharField):
    """A JSON string, and nothing DRF would coerce into one (numbers, booleans)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)  # the services strip, and say so
        kwargs.setdefault("allow_blank", True)  # emptiness is the services' rule to state
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(DocumentedMixin, serializers.IntegerField):
    """A JSON integer: no strings of digits, no floats, no booleans."""

    default_error_messages = {"invalid": "A whole number is required."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return data


class StrictListField(DocumentedMixin, serializers.ListField):
    pass


class StrictInputSerializer(serializers.Serializer):
    """A JSON object whose unknown fields are errors, not silently dropped."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError(
                    {key: ["Unknown field."] for key in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)
