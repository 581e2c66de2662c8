"""CSV request bodies for ``POST /imports``: bounded like the JSON ones (``API_MAX_BODY_BYTES``),
read as UTF-8 text."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from api.parsers import PayloadTooLarge


class BoundedCSVParser(BaseParser):
    media_type = "text/csv"

    # A CSV body is text: the view reads ``request.data`` as a str.
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> str:
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        announced = request.META.get("CONTENT_LENGTH", "") if request is not None else ""
        if announced.isdigit() and int(announced) > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit} bytes.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit} bytes.")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The CSV file is not UTF-8 text.") from None
