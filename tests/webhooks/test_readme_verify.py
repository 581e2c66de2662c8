"""The README's receiver code, run as written against a real delivery."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from api.services import api_key_create
from tests.helpers import ROOT
from webhooks.services import webhook_endpoint_create, webhook_event_emit
from webhooks.signing import HEADER

pytestmark = pytest.mark.django_db(transaction=True)


def _readme_verify() -> Any:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Verifying a signature", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None, "the README shows the receiver's code"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)
    return namespace["verify"]


def test_readme_code_accepts_a_real_delivery_and_refuses_tampering(
    receiver, loopback_allowed, monkeypatch
):
    verify = _readme_verify()
    key, _ = api_key_create(name="LMS")
    endpoint = webhook_endpoint_create(url=receiver.url, events=["import.completed"], api_key=key)
    webhook_event_emit(type="import.completed", data={"created": 3}, api_key=key)
    (delivery,) = receiver.received
    header, body = delivery["headers"][HEADER], delivery["body"]

    assert verify(endpoint.secret, header, body) is True
    assert verify(endpoint.secret, header, body.replace(b'"created":3', b'"created":4')) is False
    assert verify("whsec_another", header, body) is False
    assert verify(endpoint.secret, "garbage", body) is False
    # Replayed ten minutes later: outside the five-minute tolerance.
    later = time.time() + 600
    monkeypatch.setattr(time, "time", lambda: later)
    assert verify(endpoint.secret, header, body) is False
