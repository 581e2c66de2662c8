"""Factories for the models, for tests that need rows without going through the services."""

from __future__ import annotations

import factory

from courses.models import Course, LabGroup
from provisioning.models import DiscordServer


class CourseFactory(factory.django.DjangoModelFactory[Course]):
    class Meta:
        model = Course

    name = factory.Sequence(lambda n: f"Course {n}")
    semester = "2026-fall"
    type = Course.Type.LECTURE


class LabGroupFactory(factory.django.DjangoModelFactory[LabGroup]):
    class Meta:
        model = LabGroup

    course = factory.SubFactory(CourseFactory, type=Course.Type.LABORATORY)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda group: f"Group {group.number}")


class DiscordServerFactory(factory.django.DjangoModelFactory[DiscordServer]):
    class Meta:
        model = DiscordServer

    guild_id = factory.Sequence(lambda n: str(900000000000000000 + n))
    name = factory.Sequence(lambda n: f"Staff server {n}")
