"""Routes of the import endpoints: /imports, /imports/{id}."""

from rest_framework.routers import SimpleRouter

from imports.api.views import ImportViewSet

router = SimpleRouter(trailing_slash=False)
router.register("imports", ImportViewSet, basename="import")

urlpatterns = router.urls
