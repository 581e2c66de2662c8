"""URL map: the admin, and the REST API at the root (the NestJS contract's paths).

API paths answer in the API's error shape even where Django answers (an unknown path, a crash):
see api.views.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.health import HealthView
from api.metrics import MetricsView
from api.views import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("courses.api.urls")),
    path("", include("imports.api.urls")),
    path("", include("webhooks.api.urls")),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("health", HealthView.as_view(), name="health"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Anything else under the API's prefixes: a JSON 404, in DEBUG too.
    re_path(r"^(?:courses|imports|health|api|webhooks|metrics)(?:/.*)?$", not_found),
]

# The admin's and /api/docs' assets (Swagger UI from drf-spectacular-sidecar: no CDN). In DEBUG
# from the apps' folders; otherwise from STATIC_ROOT, filled by `collectstatic` (the Dockerfile
# runs it), so that gunicorn alone serves a working admin and API docs.
if settings.DEBUG:
    urlpatterns += staticfiles_urlpatterns()
else:
    urlpatterns += [
        re_path(
            rf"^{settings.STATIC_URL.strip('/')}/(?P<path>.*)$",
            serve,
            {"document_root": settings.STATIC_ROOT},
        )
    ]

handler400 = "api.views.bad_request"
handler404 = "api.views.not_found"
handler500 = "api.views.server_error"
