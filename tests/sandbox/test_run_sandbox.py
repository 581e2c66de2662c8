"""``manage.py run_sandbox``: clean errors for bad arguments, and a sandbox that really serves."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.core.management import CommandError, call_command

from tests.config.helpers import ROOT, clean_env


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": "abc"}, "--port must be a whole number"),
        ({"port": -1}, "--port must be between 0 and 65535"),
        ({"port": 70000}, "--port must be between 0 and 65535"),
        ({"guilds": -2}, "--guilds must be between"),
        ({"guilds": "many"}, "--guilds must be a whole number"),
        ({"org": "-not-a-login-"}, "is not a GitHub login"),
        ({"host": ""}, "--host must not be empty"),
    ],
)
def test_bad_arguments_are_a_command_error(options: dict[str, object], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("run_sandbox", **options)


def test_a_port_in_use_is_a_command_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError, match=f"cannot listen on 127.0.0.1:{port}"):
            call_command("run_sandbox", port=port, guilds=0)


def test_bad_arguments_on_the_command_line_print_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "run_sandbox", "--port", "99999"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == "CommandError: --port must be between 0 and 65535, got 99999"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_state(url: str, process: subprocess.Popen[str], deadline: float) -> dict:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"run_sandbox exited early:\n{process.communicate()[1]}")
        try:
            return requests.get(f"{url}/_sandbox/state", timeout=1).json()
        except requests.ConnectionError:
            time.sleep(0.05)
    pytest.fail("run_sandbox did not answer in time")


@pytest.mark.parametrize(
    ("args", "org", "guilds", "stop_signal"),
    [
        ([], "sandbox-university", 3, signal.SIGINT),  # defaults: GITHUB_ORG, 3 servers; Ctrl-C
        (["--org", "test-org", "--guilds", "1"], "test-org", 1, signal.SIGTERM),  # docker stop
    ],
    ids=["defaults-ctrl-c", "options-sigterm"],
)
def test_it_serves_the_seeded_sandbox_until_stopped(
    args: list[str], org: str, guilds: int, stop_signal: signal.Signals
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_sandbox", "--port", str(port), *args],
        cwd=ROOT,
        env=clean_env(),  # base settings: GITHUB_ORG defaults to sandbox-university
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        state = _wait_for_state(url, process, time.monotonic() + 20)
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"Sandbox listening on {url}" in stdout
    assert f"GitHub organization: {org} (plan team)" in stdout
    assert stdout.rstrip().endswith("Sandbox stopped.")
    guild_ids = re.findall(r"^  (\S+)  Course server \d+$", stdout, re.MULTILINE)
    assert len(guild_ids) == guilds
    # The snapshot's shape belongs to the fake platforms: look for the seeded names and ids only.
    assert f'"{org}"' in json.dumps(state["github"])
    discord_state = json.dumps(state["discord"])
    for guild_id in guild_ids:
        assert guild_id in discord_state
