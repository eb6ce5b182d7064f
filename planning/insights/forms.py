"""The period picker of the insights pages: since, until, one project, and a CSV to download."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from planning.insights.period import Period, period_between
from planning.insights.tables import TABLE_NAMES
from planning.models import Project


class PeriodForm(forms.Form):
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    project = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    format = forms.ChoiceField(
        required=False, choices=[("", "page"), ("csv", "CSV")], widget=forms.HiddenInput
    )
    table = forms.ChoiceField(
        required=False,
        choices=[("", "every table"), *((name, name) for name in TABLE_NAMES)],
        widget=forms.HiddenInput,
    )

    def __init__(self, data: Any, *, projects: Sequence[Project], label_squads: bool = False):
        super().__init__(data)
        self.projects = {project.pk: project for project in projects}
        field = self.fields["project"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [
            ("", "All projects"),
            *((p.pk, f"{p.squad.name}: {p.name}" if label_squads else p.name) for p in projects),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.errors:
            try:
                data["period"] = period_between(data.get("since"), data.get("until"))
            except ValidationError as refused:
                self.add_error(None, refused)
        return data

    @property
    def refusals(self) -> list[str]:
        """What to say above the fields: the form's own errors and those of the hidden ones."""
        hidden = [
            f"{field.label or field.name.capitalize()}: {error}"
            for field in self.hidden_fields()
            for error in field.errors
        ]
        return [*self.non_field_errors(), *hidden]

    @property
    def period(self) -> Period:
        return self.cleaned_data["period"]

    @property
    def chosen_project(self) -> Project | None:
        project_id = self.cleaned_data.get("project")
        return self.projects[project_id] if project_id is not None else None
