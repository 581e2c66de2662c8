"""Formats shared by the course service, the API schema, the admin and the server pool."""

from __future__ import annotations

import re

# ASCII only: str.isdigit() would take "١٢٣" too. Use with fullmatch (a "$" lets "\n" through).
SNOWFLAKE = re.compile(r"[0-9]{17,20}")
SEMESTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,31}")
