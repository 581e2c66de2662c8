"""The work of POST /courses, pinned: a query more per request is a regression to look at.

What one create costs (the API key's cap on, as by default): the key, the cap's lock on it, one
read for every clash (same name and semester, or repositories another course would own), the
course with its groups, its repositories' names, its operation and its steps, the cap's count,
and the savepoints of the cap and of the create (a conflict must leave the cap's transaction
usable). On PostgreSQL the course and what comes with it are one statement (common.rows);
elsewhere one insert per table, the groups' and the names' one insert however many. Without a
webhookUrl the view opens no transaction (and no savepoint) of its own. Nothing is read back for
the answer.
"""

from __future__ import annotations

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.helpers import laboratory_body, lecture_body
from tests.factories import CourseFactory

pytestmark = pytest.mark.django_db

ONE_STATEMENT = connection.vendor == "postgresql"
# course, its repositories' names (courses.OwnedRepository), operation, steps: 1 statement, or 4
LECTURE_QUERIES = 9 if ONE_STATEMENT else 12
LABORATORY_QUERIES = LECTURE_QUERIES + (0 if ONE_STATEMENT else 1)  # the groups' insert


@pytest.fixture
def post(api, settings):
    settings.PROVISIONING_EXECUTION = "celery"  # the run's own queries are not the request's
    settings.CELERY_BROKER_URL = "memory://"
    api.post("/courses", lecture_body(), format="json")  # the key's last use is recorded once

    def send(body):
        with CaptureQueriesContext(connection) as queries:
            response = api.post("/courses", body, format="json")
        assert response.status_code == 202, response.json()
        return response, [query["sql"] for query in queries.captured_queries]

    return send


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (lecture_body, LECTURE_QUERIES),
        (lambda: laboratory_body(groups=2), LABORATORY_QUERIES),
        (lambda: laboratory_body(groups=40), LABORATORY_QUERIES),
    ],
    ids=["lecture", "laboratory-2", "laboratory-40"],
)
def test_a_create_makes_a_fixed_number_of_queries(post, body, expected):
    response, queries = post(body())
    assert len(queries) == expected, "\n".join(queries)
    groups = response.json()["labGroups"]
    assert [group["number"] for group in groups] == list(range(1, len(groups) + 1))


def test_the_count_does_not_grow_with_the_semester(post):
    # made by the service: their repositories' names are stored (slug)
    CourseFactory.create_batch(
        30, semester="2026-fall", slug=factory.Sequence(lambda n: f"2026-fall-other-{n}")
    )
    _, queries = post(laboratory_body(groups=3))
    assert len(queries) == LABORATORY_QUERIES, "\n".join(queries)
    # the courses of the semester are not read to look for clashes
    assert not any("courses_labgroup" in q and q.startswith("SELECT") for q in queries)
