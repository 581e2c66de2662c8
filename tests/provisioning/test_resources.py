"""``resource_ensure`` on its own: the ledger's idempotency rule, without a platform behind it."""

from __future__ import annotations

import pytest

from provisioning.context import StepContext
from provisioning.errors import LeaseLost
from provisioning.models import ExternalResource, ProvisioningStep, StepName
from provisioning.resources import Found, resource_ensure
from tests.factories import CourseFactory, LabGroupFactory

pytestmark = pytest.mark.django_db

FOUND = Found(external_id="42", url="https://platform.test/42", data={"name": "general"})


class Platform:
    """Records what ``resource_ensure`` asked of the platform, in order."""

    def __init__(self, existing: Found | None = None) -> None:
        self.existing = existing
        self.calls: list[str] = []

    def find(self) -> Found | None:
        self.calls.append("find")
        return self.existing

    def create(self) -> Found:
        self.calls.append("create")
        return FOUND


@pytest.fixture
def ctx() -> StepContext:
    course = CourseFactory.create()
    step = ProvisioningStep.objects.create(
        course=course, name=StepName.CREATE_DISCORD_CHANNELS, order=1
    )
    return StepContext(course=course, step=step)


def ensure(ctx, platform: Platform, **options) -> ExternalResource:
    return resource_ensure(
        ctx,
        provider="discord",
        kind="channel",
        key="general",
        create=platform.create,
        find=platform.find,
        **options,
    )


def record(ctx, state: str, external_id: str = "") -> ExternalResource:
    return ExternalResource.objects.create(
        course=ctx.course,
        provider="discord",
        kind="channel",
        key="general",
        state=state,
        external_id=external_id,
    )


def test_a_confirmed_resource_makes_no_call(ctx):
    recorded = record(ctx, ExternalResource.State.CONFIRMED, external_id="7")
    platform = Platform(existing=FOUND)

    resource = ensure(ctx, platform)

    assert platform.calls == []
    assert (resource.pk, resource.external_id) == (recorded.pk, "7")
    assert ctx.progress == 0  # nothing new was confirmed


def test_an_intended_resource_found_on_the_platform_is_adopted_not_created(ctx):
    record(ctx, ExternalResource.State.INTENDED)
    platform = Platform(existing=FOUND)

    resource = ensure(ctx, platform)

    assert platform.calls == ["find"]
    assert resource.state == ExternalResource.State.CONFIRMED
    assert (resource.external_id, resource.url, resource.data) == ("42", FOUND.url, FOUND.data)
    assert ctx.progress == 1


def test_an_intended_resource_absent_from_the_platform_is_created_after_looking(ctx):
    record(ctx, ExternalResource.State.INTENDED)
    platform = Platform(existing=None)

    resource = ensure(ctx, platform)

    assert platform.calls == ["find", "create"]
    assert resource.state == ExternalResource.State.CONFIRMED
    assert ExternalResource.objects.get().external_id == "42"


def test_an_unrecorded_resource_is_intended_before_the_call_and_confirmed_after(ctx):
    group = LabGroupFactory(course=ctx.course)
    seen_during_create: list[tuple[str, str, int | None]] = []

    def create() -> Found:
        row = ExternalResource.objects.get(course=ctx.course, key="general")
        seen_during_create.append((row.state, row.external_id, row.lab_group_id))
        return FOUND

    platform = Platform(existing=FOUND)
    resource = resource_ensure(
        ctx,
        provider="discord",
        kind="channel",
        key="general",
        create=create,
        find=platform.find,
        lab_group=group,
    )

    # The intent was in the database while the platform was being called.
    assert seen_during_create == [(ExternalResource.State.INTENDED, "", group.pk)]
    assert platform.calls == []  # never recorded: nothing of ours can be there, no look
    stored = ExternalResource.objects.get()
    assert (stored.pk, stored.state, stored.external_id) == (
        resource.pk,
        ExternalResource.State.CONFIRMED,
        "42",
    )
    assert ctx.progress == 1


def test_look_first_adopts_an_unrecorded_resource_the_platform_has(ctx):
    platform = Platform(existing=FOUND)

    resource = ensure(ctx, platform, look_first=True)

    assert platform.calls == ["find"]
    assert resource.external_id == "42"


def test_a_create_that_raises_leaves_the_intent_and_the_next_run_looks_first(ctx):
    def failing_create() -> Found:
        raise ConnectionError("answer lost")

    with pytest.raises(ConnectionError):
        resource_ensure(
            ctx, provider="discord", kind="channel", key="general", create=failing_create
        )

    row = ExternalResource.objects.get()
    assert (row.state, row.external_id) == (ExternalResource.State.INTENDED, "")
    assert ctx.progress == 0

    # The create may have happened before the answer was lost: the next run finds it.
    platform = Platform(existing=FOUND)
    assert ensure(ctx, platform).state == ExternalResource.State.CONFIRMED
    assert platform.calls == ["find"]


def test_a_run_that_lost_the_course_writes_no_checkpoint(ctx):
    beats: list[str] = []

    def beat() -> None:  # alive before the call, taken over while it was under way
        beats.append("beat")
        if len(beats) > 1:
            raise LeaseLost("another run took the course over")

    ctx.heartbeat = beat
    platform = Platform()

    with pytest.raises(LeaseLost):
        ensure(ctx, platform)

    assert platform.calls == ["create"]
    assert ExternalResource.objects.get().state == ExternalResource.State.INTENDED
