"""The sandbox: fake platforms behind one dispatcher, with fault injection and a request log.

Each fake platform (Discord, GitHub) is a :class:`Platform`: a router plus its in-memory state and
the platform's own ways of saying "unauthorized", "not found" or "slow down". :class:`Sandbox`
dispatches a request to the platform that owns its path prefix, under one lock (the state is small
and a global lock makes every handler trivially thread-safe), applies the injected faults, and
records every request it received in a log that tests compare with our audit log.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.http import BadJson, Request, Response, Router

CONTROL_PREFIX = "/_sandbox"


class HttpError(Exception):
    """Raised by a handler to answer with ``response`` (an error shaped like the platform's)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class Platform:
    """One fake platform. Subclasses fill the router and the platform-specific answers."""

    name: str = ""
    prefixes: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.router = Router()
        self.register_routes()
        self.reset({})

    # -- to be provided by each platform ------------------------------------------------------
    def register_routes(self) -> None:
        raise NotImplementedError

    def reset(self, options: dict[str, Any]) -> None:
        """Forget every object and apply ``options`` (platform-specific settings)."""
        raise NotImplementedError

    def configure(self, options: dict[str, Any]) -> None:
        """Change settings (tokens, limits) without forgetting objects."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """The whole state, JSON-serialisable, for tests and the demo."""
        raise NotImplementedError

    def authenticate(self, request: Request) -> Response | None:
        """``None`` when the credentials are good, else the platform's 401."""
        raise NotImplementedError

    def error(self, status: int, message: str) -> Response:
        """A generic error in the platform's shape (404, 405, 5xx...)."""
        raise NotImplementedError

    def too_many_requests(self, retry_after: float) -> Response:
        """The platform's 429, as injected by a fault."""
        raise NotImplementedError

    # -- optional hooks -----------------------------------------------------------------------
    def before_dispatch(self, request: Request) -> Response | None:
        """Rate limiting: return a response to refuse the request before it has any effect."""
        return None

    def after_dispatch(self, request: Request, response: Response) -> None:
        """Add headers (rate-limit counters) to every answer."""

    def bad_json(self, request: Request, detail: str) -> Response:
        return self.error(400, f"Problems parsing JSON: {detail}")


@dataclass
class FaultRule:
    """Answer matching requests with ``status`` (and ``body``) before any effect."""

    path: str  # a regular expression searched in the platform-relative path
    status: int = 500
    provider: str = "*"
    method: str = "*"
    body: Any = None
    times: int | None = None  # None: every matching request
    hits: int = 0

    def matches(self, provider: str, request: Request) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.provider not in ("*", provider):
            return False
        if self.method not in ("*", request.method):
            return False
        return re.search(self.path, request.path) is not None


@dataclass
class Faults:
    """What can go wrong, as set through ``PUT /_sandbox/faults``."""

    latency_ms: float = 0.0
    fail_before_rate: float = 0.0  # fraction of calls answered 5xx before any effect
    fail_after_rate: float = 0.0  # fraction of writes applied, then answered 5xx or dropped
    fail_after_mode: str = "mixed"  # "status" (a 502), "drop" (connection closed) or "mixed"
    rate_limit_rate: float = 0.0  # fraction of calls answered 429
    providers: list[str] = field(default_factory=lambda: ["discord", "github"])
    rules: list[FaultRule] = field(default_factory=list)
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        known["rules"] = [FaultRule(**rule) for rule in known.get("rules", [])]
        faults = cls(**known)
        for name in ("fail_before_rate", "fail_after_rate", "rate_limit_rate"):
            if not 0.0 <= getattr(faults, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if faults.fail_after_mode not in ("status", "drop", "mixed"):
            raise ValueError("fail_after_mode must be status, drop or mixed")
        return faults

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sandbox:
    """All fake platforms, their faults and the log of requests received."""

    def __init__(self, platforms: list[Platform]) -> None:
        self.lock = threading.RLock()
        # Any: control endpoints and seeding call each platform's own staff_* methods by name.
        self.platforms: dict[str, Any] = {platform.name: platform for platform in platforms}
        self._prefixes = sorted(
            ((prefix, platform) for platform in platforms for prefix in platform.prefixes),
            key=lambda item: -len(item[0]),
        )
        self.faults = Faults()
        self._random = random.Random()
        self.log: list[dict[str, Any]] = []
        from sandbox.control import build_control_router

        self.control = build_control_router(self)

    # -- state --------------------------------------------------------------------------------
    def reset(self, options: dict[str, dict[str, Any]] | None = None) -> None:
        options = options or {}
        with self.lock:
            for name, platform in self.platforms.items():
                platform.reset(options.get(name, {}))
            self.set_faults(Faults())
            self.log.clear()

    def set_faults(self, faults: Faults) -> None:
        with self.lock:
            self.faults = faults
            self._random = random.Random(faults.seed)

    # -- dispatch -----------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX + "/"):
            request.path = request.path[len(CONTROL_PREFIX) :]
            return self._dispatch(self.control, request, _control_error)
        for prefix, platform in self._prefixes:
            if request.path == prefix or request.path.startswith(prefix + "/"):
                request.path = request.path[len(prefix) :] or "/"
                return self._handle_platform(platform, request)
        return Response(404, {"message": "No fake platform at this path"})

    def _handle_platform(self, platform: Platform, request: Request) -> Response:
        if self.faults.latency_ms and platform.name in self.faults.providers:
            time.sleep(self.faults.latency_ms / 1000.0)
        with self.lock:
            entry: dict[str, Any] = {
                "id": len(self.log) + 1,
                "provider": platform.name,
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "body": _loggable_body(request),
                "time": time.time(),
                "fault": None,
            }
            self.log.append(entry)
            response = self._respond(platform, request, entry)
            entry["status"] = None if response.drop_connection else response.status
            entry["route"] = request.route
            return response

    def _respond(self, platform: Platform, request: Request, entry: dict[str, Any]) -> Response:
        refused = platform.authenticate(request)
        if refused is not None:
            platform.after_dispatch(request, refused)
            return refused
        injected = self._fault_before(platform, request, entry)
        if injected is not None:
            return injected
        limited = platform.before_dispatch(request)
        if limited is not None:
            platform.after_dispatch(request, limited)
            return limited
        response = self._dispatch(platform.router, request, platform.error, platform)
        platform.after_dispatch(request, response)
        if (
            request.is_write
            and response.status < 400
            and platform.name in self.faults.providers
            and self._random.random() < self.faults.fail_after_rate
        ):
            entry["fault"] = "after"
            mode = self.faults.fail_after_mode
            if mode == "mixed":
                mode = self._random.choice(["status", "drop"])
            if mode == "drop":
                return Response(0, drop_connection=True)
            return platform.error(502, "Bad Gateway")
        return response

    def _fault_before(
        self, platform: Platform, request: Request, entry: dict[str, Any]
    ) -> Response | None:
        for rule in self.faults.rules:
            if rule.matches(platform.name, request):
                rule.hits += 1
                entry["fault"] = "rule"
                if rule.body is not None:
                    return Response(rule.status, rule.body)
                return platform.error(rule.status, f"Injected fault ({rule.status})")
        if platform.name not in self.faults.providers:
            return None
        if self._random.random() < self.faults.fail_before_rate:
            entry["fault"] = "before"
            return platform.error(self._random.choice([500, 502, 503]), "Service Unavailable")
        if self._random.random() < self.faults.rate_limit_rate:
            entry["fault"] = "rate_limit"
            return platform.too_many_requests(retry_after=0.05)
        return None

    def _dispatch(
        self, router: Router, request: Request, error: Any, platform: Platform | None = None
    ) -> Response:
        route, params, path_known = router.match(request.method, request.path)
        if route is None:
            if path_known:
                return error(405, "Method Not Allowed")
            return error(404, "Not Found")
        request.params = params
        request.route = route.template
        try:
            return route.handler(request)
        except HttpError as exc:
            return exc.response
        except BadJson as exc:
            if platform is not None:
                return platform.bad_json(request, str(exc))
            return error(400, f"Problems parsing JSON: {exc}")


def _control_error(status: int, message: str) -> Response:
    return Response(status, {"message": message})


def _loggable_body(request: Request) -> Any:
    try:
        return request.json()
    except BadJson:
        return request.body.decode("utf-8", "replace")[:2000]
