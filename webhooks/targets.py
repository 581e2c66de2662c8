"""Where a webhook may be sent: the guard against server-side request forgery.

Outside development (``WEBHOOK_BLOCK_PRIVATE_TARGETS``, on in production) a target whose host
resolves to a loopback, private, link-local or otherwise non-public address is refused, unless
``WEBHOOK_ALLOWED_HOSTS`` names the host. The check runs when an endpoint is registered and again
at every delivery, and the delivery connects to the very address that was checked: a name that
resolves to a public address at registration and to 127.0.0.1 later (DNS rebinding) is refused
then, and cannot switch between the check and the connection.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(ValueError):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL (for Host and TLS)
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to


def webhook_url_validate(*, url: str) -> None:
    """Refuse a URL we would not deliver to (at registration: a 400 naming the reason)."""
    webhook_target_resolve(url=url)


def webhook_target_resolve(*, url: str) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("Use an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise TargetRefused("Credentials in the URL are not allowed; the signature authenticates.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("The URL's port is not a number from 0 to 65535.") from None
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"The host {host} does not resolve.") from None
    addresses = [str(info[4][0]) for info in infos]
    if settings.WEBHOOK_BLOCK_PRIVATE_TARGETS and host.lower() not in _allowed_hosts():
        blocked = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_global]
        if blocked:
            raise TargetRefused(
                f"The host {host} resolves to a non-public address ({blocked[0]}): refused. "
                "Name it in WEBHOOK_ALLOWED_HOSTS to allow it."
            )
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, addresses[0])


def _allowed_hosts() -> set[str]:
    return {h.strip().lower() for h in settings.WEBHOOK_ALLOWED_HOSTS if h.strip()}
