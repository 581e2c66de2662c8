from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The fake Discord and GitHub, with ``run_sandbox`` and ``demo``. No models; production code
    never imports it (``make lint`` enforces it)."""

    name = "sandbox"
    verbose_name = "Sandbox (fake Discord and GitHub)"
