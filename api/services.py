"""API key services: create, revoke, authenticate. Used by the admin, the command and the API."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from api.models import ApiKey

if TYPE_CHECKING:
    pass

KEY_PREFIX = "cpk_"
# Shown in the admin to recognise a key: "cpk_" and 8 random characters, 48 bits of 256.
VISIBLE_CHARS = len(KEY_PREFIX) + 8
# Writing last_used_at on every request would cost a write per read: once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
BOOTSTRAP_NAME = "API_KEY (bootstrap, from the environment)"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


def api_key_set_secret(*, api_key: ApiKey) -> str:
    """Give an unsaved key a new random secret; return the secret, which is never stored."""
    raw_key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key.prefix, api_key.hashed_key = raw_key[:VISIBLE_CHARS], hash_key(raw_key)
    return raw_key


def api_key_create(*, name: str, is_admin: bool = False) -> tuple[ApiKey, str]:
    """Create a key; return it with its secret, which cannot be shown again.

    ``is_admin``: the key sees and acts on every course, not only the ones it created.
    """
    api_key = ApiKey(name=name.strip(), is_admin=is_admin)
    raw_key = api_key_set_secret(api_key=api_key)
    api_key.save()
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


class InvalidApiKey(Exception):
    """The key is unknown or revoked (the message says which)."""


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """Return the active key matching ``raw_key``, or raise :class:`InvalidApiKey`.

    Lookup is by the sha256 digest (an index hit that tells an attacker nothing about the secret);
    the digests, and the bootstrap value, are then compared with ``hmac.compare_digest``.
    """
    digest = hash_key(raw_key)
    # Written in SQL: every request runs it, and the ORM compiled the same query anew each time
    # (half of what authenticating cost). The digest is unique: one row or none.
    found = ApiKey.objects.raw(
        f"SELECT * FROM {ApiKey._meta.db_table} WHERE hashed_key = %s",  # the table: a model's
        [digest],
    )
    api_key: ApiKey | None = next(iter(found), None)
    if api_key is None or not hmac.compare_digest(api_key.hashed_key, digest):
        api_key = _bootstrap_key(raw_key, digest)
    elif api_key.is_bootstrap and not _is_bootstrap_value(raw_key):
        # API_KEY was changed or unset: the old value must stop working at once.
        api_key = None
    if api_key is None:
        raise InvalidApiKey("Invalid API key.")
    if api_key.revoked_at is not None:
        raise InvalidApiKey("This API key was revoked.")
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def _is_bootstrap_value(raw_key: str) -> bool:
    expected = settings.API_KEY
    return bool(expected) and hmac.compare_digest(
        raw_key.encode("utf-8", "surrogatepass"), expected.encode("utf-8")
    )


def _bootstrap_key(raw_key: str, digest: str) -> ApiKey | None:
    """The row standing for ``API_KEY``, made on its first use.

    A row gives the bootstrap key what other keys have: its own throttle and course cap, an owner
    for idempotency records and courses, and a revoke action in the admin.
    """
    if not _is_bootstrap_value(raw_key):
        return None
    try:
        api_key, _ = ApiKey.objects.get_or_create(
            hashed_key=digest, defaults={"name": BOOTSTRAP_NAME, "is_bootstrap": True}
        )
    except IntegrityError:  # two first requests at once
        api_key = ApiKey.objects.get(hashed_key=digest)
    return api_key
