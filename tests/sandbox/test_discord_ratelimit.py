"""The fake Discord's rate limits: headers on every answer, buckets, 429s, the global limit."""

from __future__ import annotations

import time

import pytest
import requests

TOKEN = "sandbox-discord-token"
RATE_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-RateLimit-Reset-After",
    "X-RateLimit-Bucket",
)


@pytest.fixture
def api(sandbox) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bot {TOKEN}"
    return session


def assert_rate_headers(response: requests.Response) -> None:
    for name in RATE_HEADERS:
        assert name in response.headers, (name, response.status_code, dict(response.headers))
    assert float(response.headers["X-RateLimit-Reset"]) > time.time() - 1  # epoch seconds
    assert float(response.headers["X-RateLimit-Reset-After"]) >= 0


def test_every_answer_carries_rate_limit_headers(sandbox, sandbox_control, api):
    base = sandbox.discord_api_url
    guild = sandbox_control.create_guild("Headers")
    answers = [
        api.get(f"{base}/users/@me", timeout=5),  # 200
        api.post(f"{base}/guilds/{guild['id']}/channels", json={"name": "a"}, timeout=5),  # 201
        api.post(f"{base}/guilds/{guild['id']}/channels", json={"name": ""}, timeout=5),  # 400
        api.post(f"{base}/guilds", json={"name": "x"}, timeout=5),  # 403
        api.get(f"{base}/guilds/1", timeout=5),  # 404 Unknown Guild
        api.get(f"{base}/no/such/route", timeout=5),  # 404
        requests.get(f"{base}/users/@me", timeout=5),  # 401
    ]
    assert [r.status_code for r in answers] == [200, 201, 400, 403, 404, 404, 401]
    for response in answers:
        assert_rate_headers(response)


def test_buckets_are_per_route_and_counted_per_major_parameter(sandbox, sandbox_control, api):
    sandbox_control.configure(discord={"rate_limit": {"limit": 50, "window": 30}})
    base = sandbox.discord_api_url
    first = sandbox_control.create_guild("First")["id"]
    second = sandbox_control.create_guild("Second")["id"]
    a1 = api.get(f"{base}/guilds/{first}", timeout=5)
    a2 = api.get(f"{base}/guilds/{first}", timeout=5)
    b1 = api.get(f"{base}/guilds/{second}", timeout=5)
    roles = api.get(f"{base}/guilds/{first}/roles", timeout=5)
    assert a1.headers["X-RateLimit-Bucket"] == b1.headers["X-RateLimit-Bucket"]
    assert roles.headers["X-RateLimit-Bucket"] != a1.headers["X-RateLimit-Bucket"]
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in (a1, a2, b1)]
    assert remaining == [49, 48, 49]


def test_exhausted_bucket_is_429_without_effect_then_recovers(sandbox, sandbox_control, api):
    sandbox_control.configure(discord={"rate_limit": {"limit": 2, "window": 0.8}})
    guild = sandbox_control.create_guild("Busy")
    url = f"{sandbox.discord_api_url}/guilds/{guild['id']}/channels"
    assert [api.post(url, json={"name": f"c{i}"}, timeout=5).status_code for i in range(2)] == [
        201,
        201,
    ]
    limited = api.post(url, json={"name": "c2"}, timeout=5)
    assert limited.status_code == 429
    body = limited.json()
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 0.8
    assert limited.headers["Retry-After"] == "1"  # whole seconds, rounded up, like Discord
    assert limited.headers["X-RateLimit-Scope"] == "user"
    assert "X-RateLimit-Global" not in limited.headers
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    discord = sandbox_control.state()["discord"]
    assert [c["name"] for c in discord["guilds"][guild["id"]]["channels"]] == ["c0", "c1"]
    assert discord["counters"]["rate_limited"] == 1
    time.sleep(body["retry_after"] + 0.02)
    again = api.post(url, json={"name": "c2"}, timeout=5)
    assert again.status_code == 201
    assert again.headers["X-RateLimit-Remaining"] == "1"


def test_global_limit(sandbox, sandbox_control, api):
    sandbox_control.configure(discord={"global_limit": 3})
    guild = sandbox_control.create_guild("Global")["id"]
    base = sandbox.discord_api_url
    paths = [
        "/users/@me",
        f"/guilds/{guild}",
        f"/guilds/{guild}/roles",
        f"/guilds/{guild}/channels",
    ]
    answers = [api.get(base + path, timeout=5) for path in paths]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    limited = answers[-1]
    assert limited.json()["global"] is True
    assert limited.headers["X-RateLimit-Global"] == "true"
    assert limited.headers["X-RateLimit-Scope"] == "global"
    assert sandbox_control.state()["discord"]["counters"]["rate_limited_global"] == 1


def test_injected_429_and_errors_have_discords_shape(sandbox, sandbox_control, api):
    base = sandbox.discord_api_url
    sandbox_control.set_faults(rate_limit_rate=1.0, providers=["discord"])
    injected = api.get(f"{base}/users/@me", timeout=5)
    assert injected.status_code == 429
    assert injected.json()["retry_after"] == 0.05 and injected.json()["global"] is False
    assert injected.headers["X-RateLimit-Scope"] == "user"
    assert_rate_headers(injected)
    assert sandbox_control.state()["discord"]["counters"]["rate_limited_injected"] == 1
    sandbox_control.set_faults(rules=[{"provider": "discord", "path": "^/users", "status": 503}])
    failed = api.get(f"{base}/users/@me", timeout=5)
    assert failed.json() == {"message": "503: Service Unavailable", "code": 0}
    sandbox_control.clear_faults()
    missing = api.get(f"{base}/nowhere", timeout=5)
    assert missing.json() == {"message": "404: Not Found", "code": 0}
