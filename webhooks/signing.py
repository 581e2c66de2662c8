"""The signature of a delivery: Stripe's scheme.

``X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint's secret>``.
Signing the timestamp with the body lets a receiver refuse an old delivery replayed by whoever
recorded it (the README shows the receiver's side, and a test runs exactly that code).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "X-Signature"
SECRET_PREFIX = "whsec_"


def webhook_secret_generate() -> str:
    return SECRET_PREFIX + secrets.token_hex(32)


def webhook_signature(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``X-Signature`` value for ``body`` sent at ``timestamp`` (now by default)."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"
