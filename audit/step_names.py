"""The step names the audit log's step filter offers, registered by the app that defines steps.

Audit sits below provisioning (provisioning's clients write the audit log), so it cannot import
the step registry; provisioning registers its names here when the apps are ready instead.
"""

from __future__ import annotations

from collections.abc import Iterable

_names: dict[str, None] = {}  # an ordered set: first registration wins the place


def step_names_register(*, names: Iterable[str]) -> None:
    """Offer ``names`` (in their order) in the audit log's step filter; repeats are ignored."""
    _names.update(dict.fromkeys(names))


def step_names() -> list[str]:
    """Every registered step name, in registration order."""
    return list(_names)
