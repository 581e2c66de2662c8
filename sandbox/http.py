"""A very small HTTP toolkit for the fake platforms: requests, responses and a router.

The sandbox has no web framework of its own on purpose: a few dozen lines give us full control of
status codes, headers and dropped connections, which is exactly what a fake platform must fake.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


class BadJson(Exception):
    """The request body is not valid JSON."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # keys lower-cased
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # filled by the router
    route: str = ""  # the matched route template, e.g. "/guilds/{guild_id}/channels"

    @classmethod
    def build(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        path, _, query_string = target.partition("?")
        query = {k: v[-1] for k, v in parse_qs(query_string, keep_blank_values=True).items()}
        return cls(
            method=method.upper(),
            path=path,
            query=query,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The parsed body; ``None`` when empty. Raises :class:`BadJson` when malformed."""
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadJson(str(exc)) from exc

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD", "OPTIONS")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or bytes for a raw body
    headers: dict[str, str] = field(default_factory=dict)
    drop_connection: bool = False  # close the socket without answering (fault injection)

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body).encode()


Handler = Callable[[Request], Response]

_PARAM = re.compile(r"\{(\w+)(?::path)?\}")


@dataclass
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    """Maps (method, path) to a handler.

    ``{name}`` matches one path segment, ``{name:path}`` the rest of the path.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        regex = ""
        pos = 0
        for match in _PARAM.finditer(template):
            regex += re.escape(template[pos : match.start()])
            is_path = match.group(0).endswith(":path}")
            regex += f"(?P<{match.group(1)}>{'.+' if is_path else '[^/]+'})"
            pos = match.end()
        regex += re.escape(template[pos:])
        plain = _PARAM.sub(lambda m: "{" + m.group(1) + "}", template)
        self.routes.append(Route(method.upper(), plain, re.compile(f"^{regex}/?$"), handler))

    def route(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return decorator

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """Return (route, params, path_known). ``path_known`` tells a 405 from a 404."""
        path_known = False
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            path_known = True
            if route.method == method:
                return route, found.groupdict(), True
        return None, {}, path_known
