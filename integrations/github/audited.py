"""Audit every HTTP request PyGithub sends, and hold it back while a shared limit says so.

PyGithub creates its connection from a class stored on its ``Requester``; the public
``Requester.injectConnectionClasses`` swaps it for the whole process, which would also audit
PyGithub used elsewhere (tests, scripts). We set it on our own ``Github`` instance only.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from github import Github
from github.Requester import HTTPRequestsConnectionClass, HTTPSRequestsConnectionClass

from audit.services import audit_log_record
from integrations.github.limits import GitHubLimits

# Ids and names in GitHub paths, replaced by placeholders to give a route template.
_ROUTE_RULES = [
    (re.compile(r"^/repos/[^/]+/[^/]+"), "/repos/{owner}/{repo}"),
    (re.compile(r"^/repositories/\d+"), "/repositories/{repo_id}"),
    (re.compile(r"^/organizations/\d+/team/\d+"), "/organizations/{org_id}/team/{team_id}"),
    (re.compile(r"^/orgs/[^/]+"), "/orgs/{org}"),
    (re.compile(r"/git/(commits|trees|blobs)/[0-9a-f]{40}"), r"/git/\1/{sha}"),
    (re.compile(r"/git/refs?/.+$"), "/git/ref/{ref}"),
    (re.compile(r"/branches/[^/]+"), "/branches/{branch}"),
    (re.compile(r"/contents/.*$"), "/contents/{path}"),
]


def route_template(path: str, prefix: str) -> str:
    route = path[len(prefix) :] if prefix and path.startswith(prefix) else path
    route = route.split("?", 1)[0]
    for pattern, replacement in _ROUTE_RULES:
        route = pattern.sub(replacement, route)
    return route


class _AuditedMixin:
    """Obey the shared limits, time the exchange, write one audit row whatever happened."""

    api_prefix = ""
    limits: GitHubLimits | None = None
    # Set by the PyGithub connection class this mixin is combined with.
    verb: str
    url: str
    protocol: str
    host: str
    port: int
    input: Any
    stream: bool

    def getresponse(self) -> Any:
        if self.limits is not None:
            self.limits.before(self.verb)
        started = time.monotonic()
        method, path = self.verb, self.url
        url = f"{self.protocol}://{self.host}:{self.port}{path}"
        body = _parse(self.input)
        try:
            response = super().getresponse()  # type: ignore[misc]
        except Exception as exc:
            _record(method, path, url, body, None, "", started, repr(exc), self.api_prefix)
            raise
        text = response.read() if not self.stream else ""
        _record(method, path, url, body, response.status, text, started, "", self.api_prefix)
        if self.limits is not None:
            self.limits.after(response.status, dict(response.getheaders()))
        return response


def _record(
    method: str,
    path: str,
    url: str,
    body: Any,
    status: int | None,
    text: Any,
    started: float,
    error: str,
    prefix: str,
) -> None:
    audit_log_record(
        provider="github",
        method=method,
        route=route_template(path, prefix),
        url=url,
        request_body=body,
        response_status=status,
        response_text=text if isinstance(text, str) else "",
        duration_ms=(time.monotonic() - started) * 1000,
        error=error,
    )


def _parse(raw: Any) -> Any:
    if raw is None:
        return None
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return str(raw)[:2000]


def install_audit(github: Github, limits: GitHubLimits | None = None) -> None:
    """Make ``github`` obey ``limits`` and audit each request (ids in paths become a template)."""
    requester = github.requester
    attributes = {"api_prefix": urlsplit(requester.base_url).path.rstrip("/"), "limits": limits}
    http = type("AuditedHTTP", (_AuditedMixin, HTTPRequestsConnectionClass), attributes)
    https = type("AuditedHTTPS", (_AuditedMixin, HTTPSRequestsConnectionClass), attributes)
    scheme = urlsplit(requester.base_url).scheme
    # Name-mangled private attribute of PyGithub's Requester (checked by our client tests).
    requester._Requester__connectionClass = https if scheme == "https" else http  # type: ignore[attr-defined]
