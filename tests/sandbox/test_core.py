"""The sandbox's dispatcher: control endpoints, fault injection and the request log."""

import requests


def test_unknown_prefix_is_404(sandbox):
    assert requests.get(f"{sandbox.url}/nowhere", timeout=5).status_code == 404


def test_faults_round_trip_and_reject_nonsense(sandbox, sandbox_control):
    faults = sandbox_control.set_faults(fail_before_rate=0.5, seed=3)
    assert faults["fail_before_rate"] == 0.5
    bad = requests.put(f"{sandbox.url}/_sandbox/faults", json={"fail_before_rate": 2}, timeout=5)
    assert bad.status_code == 400
    assert "between 0 and 1" in bad.json()["message"]
    unknown = requests.put(f"{sandbox.url}/_sandbox/faults", json={"nope": 1}, timeout=5)
    assert unknown.status_code == 400


def test_rule_fault_answers_before_any_effect_and_is_logged(sandbox, sandbox_control):
    sandbox_control.set_faults(
        rules=[{"provider": "github", "path": "^/orgs/", "status": 503, "times": 1}]
    )
    first = requests.get(f"{sandbox.url}/github/orgs/x", timeout=5)
    second = requests.get(f"{sandbox.url}/github/orgs/x", timeout=5)
    assert first.status_code == 503
    assert second.status_code != 503
    log = sandbox_control.requests()
    assert [entry["fault"] for entry in log] == ["rule", None]
    assert all(entry["provider"] == "github" for entry in log)
