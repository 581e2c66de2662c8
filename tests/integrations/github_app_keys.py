"""A GitHub App's key pair made for the tests (``cryptography``, which PyGithub depends on)."""

from __future__ import annotations

from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

APP_ID = 424242


@cache
def app_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM); made once per test session (RSA generation takes a moment)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def use_github_app(platforms, settings, *, token_lifetime: float = 3600) -> None:
    """Install the app on the sandbox and make the platform authenticate as it."""
    from integrations.github.app import installation_auths_clear

    private, public = app_key_pair()
    platforms.control.configure(
        github={"app": {"id": APP_ID, "public_key": public, "token_lifetime": token_lifetime}}
    )
    settings.GITHUB_APP_ID = str(APP_ID)
    settings.GITHUB_APP_PRIVATE_KEY = private
    settings.GITHUB_TOKEN = ""
    installation_auths_clear()
