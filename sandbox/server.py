"""Serve the sandbox over real HTTP: standalone (``manage.py run_sandbox``) or in a thread."""

from __future__ import annotations

import contextlib
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sandbox.core import Sandbox
from sandbox.http import Request, Response


def build_sandbox() -> Sandbox:
    """A sandbox with both fake platforms, freshly reset."""
    from sandbox.discord import FakeDiscord
    from sandbox.github import FakeGitHub

    sandbox = Sandbox([FakeDiscord(), FakeGitHub()])
    sandbox.reset()
    return sandbox


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real platforms offer
    # Headers and body leave in separate writes: without this, delayed ACKs cost ~40 ms a call.
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request.build(self.command, self.path, dict(self.headers.items()), body)
        try:
            response = self.server.sandbox.handle(request)
        except Exception as exc:  # a bug in a fake: say so loudly instead of dropping the line
            traceback.print_exc()
            response = Response(500, {"message": f"sandbox error: {exc!r}"})
        if response.drop_connection:
            # A write whose effect happened but whose answer never arrives.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.encoded()
        self.send_response(response.status)
        headers = {"Content-Type": "application/json; charset=utf-8", **response.headers}
        for name, value in headers.items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the sandbox keeps its own request log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox


class RunningSandbox:
    """A sandbox served on a loopback port from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, sandbox: Sandbox | None = None):
        self.sandbox = sandbox or build_sandbox()
        self._server = _Server((host, port), self.sandbox)
        bound = self._server.server_address
        self.host, self.port = str(bound[0]), bound[1]  # an AF_INET server's host is a str
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox", daemon=True
        )

    def start(self) -> RunningSandbox:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RunningSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def discord_api_url(self) -> str:
        return f"{self.url}/discord/api/v10"

    @property
    def github_api_url(self) -> str:
        return f"{self.url}/github/api/v3"


def serve_forever(host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    server = _Server((host, port), build_sandbox())
    try:
        server.serve_forever()
    finally:
        server.server_close()
