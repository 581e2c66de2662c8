"""Routes of the course endpoints: /courses, /courses/{id}, /courses/{id}/<action>."""

from rest_framework.routers import SimpleRouter

from courses.api.members import urlpatterns as member_urlpatterns
from courses.api.semesters import SemesterViewSet
from courses.api.views import CourseViewSet

router = SimpleRouter(trailing_slash=False)
router.register("courses", CourseViewSet, basename="course")
router.register("semesters", SemesterViewSet, basename="semester")  # POST .../{semester}/archive

# The roster's routes (/courses/{id}/members...) are listed by hand: they are not the course's.
urlpatterns = [*router.urls, *member_urlpatterns]
