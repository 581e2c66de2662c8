"""``{% preflight_panel %}``: the preflight checks on the admin's home page."""

from __future__ import annotations

from typing import Any

from django import template

from provisioning.preflight import CACHE_SECONDS, preflight_cached, preflight_passed

register = template.Library()

TONES = {"ok": "success", "warn": "warning", "fail": "failure", "skipped": "neutral"}


@register.inclusion_tag("admin/provisioning/preflight_panel.html", takes_context=True)
def preflight_panel(context: template.Context) -> dict[str, Any]:
    """The last checks (at most CACHE_SECONDS old); a POST of ``preflight=again`` runs them now.

    Only for staff who may create courses: the checks name the bot, the GitHub account and the
    organization's plan, and each fresh run calls Discord and GitHub.
    """
    request = context.get("request")
    if request is None or not request.user.has_perm("courses.add_course"):
        return {"shown": False}
    again = request.method == "POST" and request.POST.get("preflight") == "again"
    checks = preflight_cached(fresh=again)
    return {
        "shown": True,
        "checks": [(check, TONES.get(check.status, "neutral")) for check in checks],
        "passed": preflight_passed(checks),
        "cache_seconds": CACHE_SECONDS,
    }
