"""WSGI entry point (gunicorn config.wsgi, and runserver)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()

# Without a broker this process runs provisioning in the background: it sweeps for stalled
# courses too (with a broker, beat does). Imported after setup: it needs the app registry.
from provisioning.sweeper import sweeper_start  # noqa: E402

sweeper_start()
