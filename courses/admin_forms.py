"""The course admin's add form and lab group formset, validated by the API's own service.

``courses.services.course_validate`` is the one definition of a valid course. The admin asks it
twice, because Django validates the course form before the lab group formset and neither sees
the other: the form asks about the course's own fields, the formset (whose ``instance`` the form
has filled in by then) asks again with the groups and keeps only the ``lab_groups`` messages.
Each message of the service thus lands once, next to what it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from courses.models import Course
from courses.services import (
    CourseAlreadyExistsError,
    LabGroupInput,
    course_check,
    course_validate,
)

COURSE_FIELDS = ("name", "semester", "type", "discord_guild_id", "github_org", "priority")


def course_errors(
    *,
    name: str,
    semester: str,
    type: str,
    lab_groups: Iterable[LabGroupInput] = (),
    discord_guild_id: str = "",
    github_org: str = "",
) -> dict[str, list[str]]:
    """What ``course_validate`` finds wrong, per field; empty when the course is valid."""
    try:
        course_validate(
            name=name,
            semester=semester,
            type=type,
            lab_groups=lab_groups,
            discord_guild_id=discord_guild_id,
            github_org=github_org,
        )
    except ValidationError as exc:
        return exc.message_dict
    return {}


class CourseAddForm(forms.ModelForm):
    # Not required: a form sent without it (a script, an older page) gets the default.
    priority = forms.ChoiceField(
        choices=Course.Priority.choices,
        required=False,
        initial=Course.Priority.NORMAL,
        help_text="Who goes first when courses wait for the platforms' rate limits.",
    )

    class Meta:
        model = Course
        fields = COURSE_FIELDS

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        errors = course_errors(
            name=cleaned.get("name") or "",
            semester=cleaned.get("semester") or "",
            type=cleaned.get("type") or "",
            discord_guild_id=cleaned.get("discord_guild_id") or "",
            github_org=cleaned.get("github_org") or "",
        )
        # The groups are not known here: LabGroupFormSet reports on them.
        errors.pop("lab_groups", None)
        # The model's constraint holds among live courses only (a torn-down course frees its
        # name), so the form's own unique check skips it: say it here, in the same words.
        name, semester = cleaned.get("name"), cleaned.get("semester")
        if name and semester and live_course_exists(name=name, semester=semester):
            self.add_error(None, "Course with this Name and Semester already exists.")
        for field, messages in errors.items():
            if field in self.fields and self.has_error(field):
                continue  # already refused by the field itself ("This field is required.")
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
        return cleaned


def live_course_exists(*, name: str, semester: str) -> bool:
    return Course.objects.filter(name=name, semester=semester, deleted_at__isnull=True).exists()


def lab_group_inputs(formset: BaseInlineFormSet) -> list[LabGroupInput]:
    """The groups a (validated) formset describes, as the service takes them."""
    return [
        LabGroupInput(name=form.cleaned_data["name"], number=form.cleaned_data["number"])
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


class LabGroupFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        # Deliberately no super().clean(): for model formsets it only checks exact duplicates,
        # which the service checks too (case-insensitively); staff would read both messages.
        if any(self.errors):
            return  # a row that does not parse is reported on its row
        course: Course = self.instance  # filled in from the course form, see the module doc
        found = course_check(
            name=course.name,
            semester=course.semester,
            type=course.type,
            lab_groups=lab_group_inputs(self),
            discord_guild_id=course.discord_guild_id,
            github_org=course.github_org,
        )
        errors = found.errors
        if errors.get("lab_groups"):
            raise ValidationError(errors["lab_groups"])
        same = live_course_exists(name=course.name, semester=course.semester)
        if course.type == Course.Type.LABORATORY and not errors and not same:
            # The course form could not compare a laboratory's repositories without its groups
            # (an exact duplicate of name and semester it reports itself).
            clashes = [str(c) for c in found.conflicts if isinstance(c, CourseAlreadyExistsError)]
            if clashes:
                raise ValidationError(clashes)
