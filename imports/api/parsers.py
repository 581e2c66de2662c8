"""CSV request bodies for ``POST /imports``: bounded like the JSON ones (``API_MAX_BODY_BYTES``),
read as UTF-8 text."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import BaseParser

from api.parsers import bounded_body


class BoundedCSVParser(BaseParser):
    media_type = "text/csv"

    # A CSV body is text: the view reads ``request.data`` as a str.
    def parse(  # type: ignore[override]
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> str:
        body = bounded_body(stream, parser_context)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.ParseError("The CSV file is not UTF-8 text.") from None
