"""Routes of the course endpoints: /courses, /courses/{id}, /courses/{id}/<action>."""

from rest_framework.routers import SimpleRouter

from courses.api.views import CourseViewSet

router = SimpleRouter(trailing_slash=False)
router.register("courses", CourseViewSet, basename="course")

urlpatterns = router.urls
