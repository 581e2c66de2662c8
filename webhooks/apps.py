from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # The runner announces a finished course with a signal (provisioning.signals): listening
        # to it keeps provisioning unaware of webhooks.
        from webhooks import receivers  # noqa: F401
