"""``{% preflight_panel %}``: the preflight checks on the admin's home page."""

from __future__ import annotations

from typing import Any

from django import template
from django.core.cache import cache

from provisioning.preflight import CACHE_KEY, CACHE_SECONDS, preflight_cached, preflight_passed

register = template.Library()

TONES = {"ok": "success", "warn": "warning", "fail": "failure", "skipped": "neutral"}


@register.inclusion_tag("admin/provisioning/preflight_panel.html", takes_context=True)
def preflight_panel(context: template.Context) -> dict[str, Any]:
    """The last checks (at most CACHE_SECONDS old); ``?preflight=again`` runs them now."""
    request = context.get("request")
    if request is not None and request.GET.get("preflight") == "again":
        cache.delete(CACHE_KEY)
    checks = preflight_cached()
    return {
        "checks": [(check, TONES.get(check.status, "neutral")) for check in checks],
        "passed": preflight_passed(checks),
        "cache_seconds": CACHE_SECONDS,
    }
