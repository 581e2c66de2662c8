import pytest
from tests.courses.test_roster_api import api, api_key, own_key, client_for, _fresh_throttle, course, post_csv  # noqa
from courses.models import Course
pytestmark = pytest.mark.django_db

def test_probe(api, course):
    for body, ct in [(b"null", "application/json"), (b'[{"name": NaN, "email": "a@x.edu", "group": 1}]', "application/json"),
                     (b'[{"name": "A", "email": "a@x.edu", "group": 1e400}]', "application/json"),
                     (b'"name,email\\nA,a@x.edu"', "application/json"),
                     (b'[{"name": "A", "email": "a@x.edu", "group": 1, "x": {"y": 1}}]', "application/json"),
                     (b'{"members": [[]]}', "application/json"),
                     (b"name,email\nA,a@x.edu,,,\n", "text/csv"),
                     (b"name,email\nA\x00,a@x.edu\n", "text/csv"),
                     ("name,email\n" + "A,a@x.edu\n"*7000, "text/csv"),
                     (b"", "text/csv"), (b"", "application/json")]:
        r = api.generic("POST", f"/courses/{course.id}/members?dryRun=true", body, content_type=ct)
        print(r.status_code, r.content[:300])
    r = api.get(f"/courses/{course.id}/links.csv", HTTP_ACCEPT="text/html")
    print(r.status_code, r.content[:200])
    r = api.get(f"/courses/{course.id}/invites", HTTP_ACCEPT="text/csv")
    print(r.status_code, r.content[:200])
    Course.objects.filter(id=course.id).update(deleted_at="2026-01-01T00:00:00Z")
    r = post_csv(api, course, b"name,email\nA,a@x.edu\n")
    print(r.status_code, r.content[:300])
    r = api.post(f"/courses/{course.id}/members/sync")
    print(r.status_code, r.content[:300])
