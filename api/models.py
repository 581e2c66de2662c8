"""API keys and the responses remembered for idempotent requests."""

from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    """A key an integrator sends in ``x-api-key``; only its sha256 digest is stored.

    The secret is random (256 bits), so a plain digest is enough: there is nothing to brute-force,
    and a digest can be looked up by index, unlike a salted password hash.
    """

    name = models.CharField(max_length=100, help_text="Who uses this key, e.g. the LMS.")
    prefix = models.CharField(
        max_length=16,
        blank=True,
        editable=False,
        help_text="The first characters of the key, to recognise it; the rest is never stored.",
    )
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    # The row standing for the API_KEY variable: accepted only while the variable still holds it.
    is_bootstrap = models.BooleanField(default=False, editable=False)
    # A key sees and acts on its own courses only (others answer 404); an admin key on all of them.
    is_admin = models.BooleanField(
        "admin key",
        default=False,
        help_text="Sees and acts on every course, not only those it created. Give it sparingly.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)" if self.prefix else self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first successful response to a request sent with an ``Idempotency-Key``.

    ``owner`` is ``key:<id>`` for an API key or ``user:<id>`` for a staff session, so two clients
    may use the same Idempotency-Key without seeing each other's responses.
    """

    owner = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="sha256 of the method, the path and the JSON body."
    )
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_unique_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner} {self.key} -> {self.response_status}"
