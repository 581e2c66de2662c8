"""Provisioning against platforms that enforce their limits: paced, not punished."""

from __future__ import annotations

from collections import Counter

import pytest

from audit.models import SystemEvent
from courses.models import Course

pytestmark = pytest.mark.django_db


def test_github_writes_are_paced_under_the_secondary_limit(platforms, provision, settings):
    # The fake GitHub allows 6 content-creating requests per 2 s; we budget one less, the margin
    # for the time between booking a slot and the request's arrival.
    platforms.control.configure(github={"secondary_limit": {"requests": 6, "window": 2}})
    settings.GITHUB_WRITE_BUDGET = "5/2"
    platforms.add_servers(2)

    lecture = provision(name="Paced", type="LECTURE")
    lab = provision(name="Paced Lab", type="LABORATORY", groups=("A", "B"))

    assert lecture.status == lab.status == Course.Status.COMPLETED
    github = platforms.state()["github"]
    assert github["counters"]["secondary_limited"] == 0
    writes = [e for e in platforms.requests("github") if e["method"] != "GET"]
    assert len(writes) == 15  # 5 per repository, no more


def test_a_secondary_limit_answer_pauses_then_the_step_succeeds(platforms, provision, settings):
    platforms.control.configure(github={"secondary_limit": {"requests": 3, "window": 1}})
    settings.GITHUB_WRITE_BUDGET = "100/1"  # a budget above the platform's limit
    platforms.add_servers(1)

    course = provision(name="Punished", type="LECTURE")

    assert course.status == Course.Status.COMPLETED
    assert platforms.state()["github"]["counters"]["secondary_limited"] >= 1
    event = SystemEvent.objects.filter(kind=SystemEvent.Kind.RATE_LIMITED).first()
    assert event is not None and event.course_id == course.id
    assert "GITHUB_WRITE_BUDGET" in event.message


def test_discord_429s_are_waited_out(platforms, provision):
    platforms.control.configure(discord={"rate_limit": {"limit": 2, "window": 0.5}})
    (guild,) = platforms.add_servers(1)
    # Headers obeyed leave the buckets nothing to refuse, so a 429 is made sure of: the rename
    # is refused once, as a bucket spent by another client of the same bot would be.
    platforms.control.set_faults(
        rules=[
            {
                "provider": "discord",
                "method": "PATCH",
                "path": f"^/guilds/{guild}$",
                "status": 429,
                "body": {"message": "You are being rate limited.", "retry_after": 0.3},
                "times": 1,
            }
        ]
    )

    course = provision(name="Bucketed", type="LABORATORY", groups=("A", "B", "C", "D"))

    assert course.status == Course.Status.COMPLETED
    renames = [
        entry
        for entry in platforms.requests("discord")
        if (entry["method"], entry["path"]) == ("PATCH", f"/guilds/{guild}")
    ]
    assert [entry["status"] for entry in renames] == [429, 200]
    # Waited out: resent no sooner than retry_after, by the client itself (one attempt).
    assert renames[1]["time"] - renames[0]["time"] >= 0.3
    assert course.steps.get(name="SETUP_DISCORD_SERVER").attempts == 1
    # A bucket's first request cannot know its limit; after that, the headers are obeyed: at
    # most one 429 per bucket (route and major parameter).
    limited = Counter(
        (entry["method"], entry["route"], entry["path"].split("/")[2])
        for entry in platforms.requests("discord")
        if entry["status"] == 429
    )
    assert all(count <= 1 for count in limited.values()), limited


def test_github_writes_queue_with_the_course_rank(platforms, provision, monkeypatch):
    # The runner ranks each course's writes by its priority, then its age (integrations.ratelimit).
    from integrations.github import limits
    from integrations.ratelimit import current_turn, take_turn, turn_rank

    seen = []

    def recording(*args, **kwargs):
        seen.append(current_turn())
        return take_turn(*args, **kwargs)

    monkeypatch.setattr(limits, "take_turn", recording)
    platforms.add_servers(1)

    course = provision(name="Ranked", type="LECTURE")

    assert course.status == Course.Status.COMPLETED
    assert len(seen) == 5  # one turn per GitHub write
    expected = turn_rank(priority=course.priority, since=course.created_at)
    assert {turn.rank for turn in seen} == {expected}
    assert {turn.label for turn in seen} == {str(course.id)}


def test_a_high_priority_course_ranks_before_older_normal_ones(platforms, provision, monkeypatch):
    from integrations.github import limits
    from integrations.ratelimit import current_turn, take_turn

    ranks: dict[str, set[float]] = {}

    def recording(*args, **kwargs):
        turn = current_turn()
        ranks.setdefault(turn.label, set()).add(turn.rank)
        return take_turn(*args, **kwargs)

    monkeypatch.setattr(limits, "take_turn", recording)
    platforms.add_servers(2)

    older = provision(name="Older", type="LECTURE")
    urgent = provision(name="Urgent", type="LECTURE", priority="high")

    [older_rank], [urgent_rank] = ranks[str(older.id)], ranks[str(urgent.id)]
    assert urgent_rank < older_rank
