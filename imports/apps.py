from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"

    def ready(self) -> None:
        # Follow the runner where it runs (worker, background thread or inline): an import is
        # finished when the last of its courses is.
        from imports import receivers  # noqa: F401
