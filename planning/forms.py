from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth import get_user_model

from config.inputs import Form, IdField, ModelForm
from planning.models import Milestone, Project, Unknown, Verdict
from squads.forms import UserByUsernameField

User = get_user_model()


class _TechLeadChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} ({obj.username})"


def _choices(form: forms.BaseForm, name: str) -> forms.ModelChoiceField:
    """The form's field for a foreign key, which a ModelForm makes a ModelChoiceField."""
    return cast(forms.ModelChoiceField, form.fields[name])


class ProjectForm(ModelForm):
    principal_engineer = UserByUsernameField(
        label="Principal engineer (username)",
        required=False,
        help_text="Vets every unknown the tech lead wants to defer. Need not be in the squad.",
    )

    class Meta:
        model = Project
        fields = ["name", "slug", "summary", "tech_lead", "principal_engineer"]
        help_texts = {"slug": "Leave empty to make one from the name."}
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}
        field_classes = {"tech_lead": _TechLeadChoice}

    def __init__(self, *args, squad, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.squad = squad
        # The squad is not a form field; it is set before the model validates itself.
        self.instance.squad = squad
        self.fields["slug"].required = False
        _choices(self, "tech_lead").queryset = User.objects.filter(memberships__squad=squad)
        if self.instance.pk and self.instance.principal_engineer:
            self.initial["principal_engineer"] = self.instance.principal_engineer.username

    def clean_principal_engineer(self):
        value = self.cleaned_data.get("principal_engineer")
        return value or None

    def clean_slug(self):
        slug = self.cleaned_data.get("slug")
        if not slug:
            return slug
        clash = Project.objects.filter(squad=self.squad, slug=slug).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Another project of this squad uses this address.")
        return slug


class MilestoneForm(ModelForm):
    class Meta:
        model = Milestone
        fields = ["title", "goal", "due_on", "tech_lead"]
        labels = {"due_on": "Due date"}
        widgets = {
            "goal": forms.Textarea(attrs={"rows": 4}),
            "due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        field_classes = {"tech_lead": _TechLeadChoice}

    def __init__(self, *args, project, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.instance.project = project
        tech_lead = _choices(self, "tech_lead")
        tech_lead.queryset = User.objects.filter(memberships__squad=project.squad)
        tech_lead.help_text = "Moves the milestone between phases and marks artifacts ready."


class ArtifactBodyForm(Form):
    body = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true", "class": "editor-text"}),
    )
    base_revision = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class ArtifactNeedForm(Form):
    needed = forms.TypedChoiceField(
        choices=[("yes", "Needed"), ("no", "Not needed")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Is it needed for this milestone?",
    )
    not_needed_reason = forms.CharField(
        required=False,
        label="Why not",
        widget=forms.Textarea(attrs={"rows": 2, "data_conditional": "true"}),
        help_text="Required when it is not needed, e.g. “No new infrastructure in this milestone.”",
    )

    def clean(self):
        data = super().clean()
        if data.get("needed") is False and not data.get("not_needed_reason", "").strip():
            self.add_error("not_needed_reason", "Say why it is not needed.")
        return data


class MoveBackForm(Form):
    to = forms.ChoiceField(label="Back to")
    note = forms.CharField(
        label="Why",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Goes on the timeline, e.g. “Review asked for changes to the protocol spec.”",
    )

    def __init__(self, *args, phases: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["to"]).choices = phases


class _PlainQueryChoices(forms.models.ModelChoiceIterator):
    """The choices from one plain query: a squad is a few people, and the
    server-side cursor Django would use costs three round trips on PostgreSQL."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class _SquadMemberChoice(forms.ModelChoiceField):
    iterator = _PlainQueryChoices

    def label_from_instance(self, obj) -> str:
        return obj.display_name


def squad_members(squad):
    return User.objects.filter(memberships__squad=squad).order_by("full_name", "username")


class UnknownAddForm(ModelForm):
    class Meta:
        model = Unknown
        fields = ["title", "priority", "owner", "due_on", "vendor"]
        labels = {"due_on": "Due", "vendor": "Waiting on (vendor)"}
        field_classes = {"owner": _SquadMemberChoice}
        widgets = {
            "due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "title": forms.TextInput(attrs={"placeholder": "What don't we know yet?"}),
        }

    def __init__(self, *args, milestone, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        owner = _choices(self, "owner")
        owner.queryset = squad_members(milestone.project.squad)
        owner.empty_label = "No owner yet"


class UnknownEditForm(ModelForm):
    ticket_url = forms.URLField(
        label="Ticket link", required=False, max_length=500, assume_scheme="https"
    )

    class Meta:
        model = Unknown
        fields = [
            "title",
            "priority",
            "status",
            "owner",
            "due_on",
            "vendor",
            "vendor_contacted_on",
            "ticket_url",
            "detail",
        ]
        labels = {
            "due_on": "Due",
            "vendor_contacted_on": "Vendor contacted on",
            "ticket_url": "Ticket link",
            "detail": "Detail (Markdown)",
        }
        field_classes = {"owner": _SquadMemberChoice}
        widgets = {
            "due_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "vendor_contacted_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "detail": forms.Textarea(attrs={"rows": 6}),
        }

    def __init__(self, *args, milestone, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        owner = _choices(self, "owner")
        owner.queryset = squad_members(milestone.project.squad)
        owner.empty_label = "No owner yet"
        # Resolving and deferring have their own forms; offer them here only
        # when the unknown already is so (to keep it, or reopen it).
        current = self.instance.status
        cast(forms.ChoiceField, self.fields["status"]).choices = [
            (value, label)
            for value, label in Unknown.Status.choices
            if value in Unknown.ACTIVE_STATUSES or value == current
        ]


class ResolveForm(Form):
    resolution = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="What we found out, or decided."
    )


class UnknownCommentForm(Form):
    body = forms.CharField(
        label="Add to the discussion",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "What do you know? Markdown works."}
        ),
    )


class DeferralRequestForm(Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Why this can be answered later."
    )
    defer_until = forms.CharField(
        max_length=120,
        label="Until",
        help_text="A date or a later milestone, e.g. “M4” or “2027-03-01”.",
    )


class DeferralDecisionForm(Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.RadioSelect
    )
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "data_conditional": "true"}),
        help_text="Required to reject.",
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == "reject" and not data.get("note", "").strip():
            self.add_error("note", "Say why the deferral is rejected.")
        return data


class UnknownRowForm(UnknownEditForm):
    """The few fields edited in place in a row of the unknowns table."""

    # Django's way to drop a field the parent form declares.
    ticket_url = None  # type: ignore[assignment]

    class Meta(UnknownEditForm.Meta):
        fields = ["title", "priority", "status", "owner", "due_on"]


class MeetingTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def _reasonable_year(value):
    if value is not None and not 2000 <= value.year <= 2999:
        raise forms.ValidationError("Pick a date between the years 2000 and 2999.")
    return value


class ReviewForm(Form):
    scheduled_for = forms.DateTimeField(
        label="When", widget=MeetingTimeInput(), validators=[_reasonable_year]
    )
    duration_minutes = forms.IntegerField(label="Minutes", min_value=15, max_value=480, initial=60)
    location = forms.CharField(required=False, max_length=300, help_text="A room or a call link.")
    verdicts_due = forms.DateTimeField(
        label="Verdicts due",
        required=False,
        widget=MeetingTimeInput(),
        validators=[_reasonable_year],
        help_text="Left empty: one day after the review ends. Reviewers still without a "
        "verdict are reminded a day before, and the tech lead once it has passed.",
    )


class KickoffForm(Form):
    scheduled_for = forms.DateTimeField(
        label="When", widget=MeetingTimeInput(), required=False, validators=[_reasonable_year]
    )
    duration_minutes = forms.IntegerField(label="Minutes", min_value=15, max_value=480, initial=45)
    location = forms.CharField(required=False, max_length=300, help_text="A room or a call link.")
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="Markdown."
    )


class BreakoutSessionForm(Form):
    scheduled_for = forms.DateTimeField(
        label="When", widget=MeetingTimeInput(), validators=[_reasonable_year]
    )
    duration_minutes = forms.IntegerField(label="Minutes", min_value=15, max_value=480, initial=60)
    location = forms.CharField(required=False, max_length=300)


class ConcernForm(Form):
    kind = forms.ChoiceField(choices=[("question", "Question"), ("concern", "Concern")])
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="What is on your mind?")


class StoryForm(Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    ticket_url = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Ticket link"
    )


# The small forms of bigger pages (a reply, a verdict, an answer). Their fields are
# optional: the services say what is missing, as they always have; the forms refuse
# only what no person types (the text rule) and what names no row.


class CommentForm(Form):
    body = forms.CharField(
        required=False, strip=False, label="Comment", widget=forms.Textarea(attrs={"rows": 3})
    )
    artifact_kind = forms.CharField(required=False, widget=forms.HiddenInput)
    parent = IdField(
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": "There is no such comment to reply to."},
    )
    # The revision the page showed and the block chosen on it (DESIGN §8); the quote is
    # the text selected in the block, when a script sends it.
    revision = forms.IntegerField(
        required=False, min_value=0, max_value=2**31 - 1, widget=forms.HiddenInput
    )
    anchor_block = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=10_000,
        label="Block",
        error_messages={"invalid": "Choose a block from the list."},
    )
    anchor_quote = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    blocking = forms.BooleanField(required=False, label="Blocking")


class DismissForm(Form):
    note = forms.CharField(
        label="Why it no longer holds the close",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the request for changes is dismissed."},
    )


class CommentEditForm(Form):
    body = forms.CharField(
        required=False, strip=False, label="Comment", widget=forms.Textarea(attrs={"rows": 3})
    )


class OverruleForm(Form):
    note = forms.CharField(
        required=False, label="Why it may close approved", widget=forms.Textarea(attrs={"rows": 2})
    )


class VerdictForm(Form):
    verdict = forms.ChoiceField(
        required=False, choices=Verdict.Choice.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="With “Approve with conditions”: one per line; each becomes an unknown.",
    )

    def condition_lines(self) -> list[str]:
        return self.cleaned_data["conditions"].splitlines()


class InviteForm(Form):
    username = forms.CharField(required=False, label="Invite by username")


class ConcernAnswerForm(Form):
    answer = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class SubtaskForm(Form):
    title = forms.CharField(required=False, label="Sub-task")
    assignee = _SquadMemberChoice(
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody yet",
        error_messages={"invalid_choice": "Choose the assignee from the squad's members."},
    )

    def __init__(self, *args, milestone, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "assignee").queryset = squad_members(milestone.project.squad)
