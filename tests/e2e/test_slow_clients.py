"""Slow clients cannot starve gunicorn: with 4x the worker count of connections trickling their
bodies in, /health still answers in under a second, and each slow request ends within a few
seconds with a 408 (or a 413 for a body announced too large) in the error shape, never a 500.
Chunked bodies get a 411 through the real server too."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import API_KEY, serve_api

pytestmark = pytest.mark.e2e

WORKERS = 2
CLIENT_TIMEOUT = 5  # config/gunicorn.py's default GUNICORN_CLIENT_TIMEOUT


def _slow_post(host: str, port: int, announced: int) -> socket.socket:
    """A POST whose headers arrive at once, then 12 bytes of a body announced much longer."""
    sock = socket.create_connection((host, port), timeout=30)
    head = (
        "POST /courses HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"x-api-key: {API_KEY}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {announced}\r\n\r\n"
    )
    sock.sendall(head.encode() + b'{"name": "sl')
    return sock


def _response(sock: socket.socket) -> tuple[int, dict]:
    """Read one HTTP response off the socket: (status, JSON body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, json.loads(body or b"null")


def test_slow_bodies_do_not_starve_the_server(worker_env, tmp_path):
    with serve_api(worker_env, tmp_path / "gunicorn.log", workers=WORKERS) as server:
        url = urlsplit(server.url)
        started = time.monotonic()
        # Half announce a body the API accepts in size, half one far above API_MAX_BODY_BYTES.
        slow = [
            (_slow_post(url.hostname, url.port, 2_000 if n % 2 else 1_000_000), n % 2)
            for n in range(4 * WORKERS)
        ]
        time.sleep(0.5)  # every slow request is in a worker now

        for _ in range(5):
            before = time.monotonic()
            health = requests.get(server.url + "/health", timeout=5)
            assert health.status_code == 200, health.text
            assert time.monotonic() - before < 1.0

        for sock, within_limit in slow:
            with sock:
                status, body = _response(sock)
            assert status == (408 if within_limit else 413), body
            assert set(body) == {"statusCode", "error", "message", "details"}
            assert body["statusCode"] == status
        assert time.monotonic() - started < CLIENT_TIMEOUT + 5  # a few seconds, not 30

        # The server is still fine afterwards.
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        assert "Internal Server Error" not in server.log.read_text(errors="replace")


def test_chunked_bodies_get_411_through_gunicorn(worker_env, tmp_path):
    with serve_api(worker_env, tmp_path / "gunicorn.log", workers=1) as server:
        body = json.dumps({"name": "Chunked", "semester": "2026-fall", "type": "LECTURE"})

        response = requests.post(
            server.url + "/courses",
            data=iter([body.encode()]),  # a generator: requests sends it chunked
            headers={"x-api-key": API_KEY, "Content-Type": "application/json"},
            timeout=10,
        )

        assert response.status_code == 411, response.text
        assert response.json()["statusCode"] == 411
