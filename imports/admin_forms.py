"""The admin's upload form: a file (or pasted text) and the import's options."""

from __future__ import annotations

from typing import Any

from django import forms

from courses.models import Course
from imports.parsing import ImportFileError, import_file_read


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        required=False,
        help_text="CSV with the header name,semester,type,groups,discordGuildId (groups as "
        "Monday;Thursday), or the same as a JSON list.",
    )
    content = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90}),
        label="or paste it",
    )
    priority = forms.ChoiceField(choices=Course.Priority.choices, initial=Course.Priority.NORMAL)
    all_or_nothing = forms.BooleanField(
        required=False,
        label="All or nothing",
        help_text="Create every course in one transaction, none if any row is invalid.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        upload = cleaned.get("file")
        if upload is not None:
            try:
                cleaned["content"] = import_file_read(upload)
            except ImportFileError as exc:
                raise forms.ValidationError(str(exc)) from None
            cleaned["filename"] = upload.name
        else:
            cleaned["filename"] = ""
        if not (cleaned.get("content") or "").strip():
            raise forms.ValidationError("Choose a file, or paste its content.")
        return cleaned


class ImportApplyForm(forms.Form):
    """The plan page's form: what was planned, sent back to apply it."""

    content = forms.CharField(widget=forms.HiddenInput, strip=False)
    filename = forms.CharField(widget=forms.HiddenInput, required=False)
    priority = forms.ChoiceField(choices=Course.Priority.choices, widget=forms.HiddenInput)
    all_or_nothing = forms.BooleanField(required=False, widget=forms.HiddenInput)
