from django import forms
from django.contrib.auth import get_user_model

from config.inputs import Form, ModelForm
from squads.models import Membership, Squad

User = get_user_model()


class SquadCreateForm(ModelForm):
    class Meta:
        model = Squad
        fields = ["name", "slug", "description"]
        help_texts = {"slug": "Leave empty to make one from the name."}
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["slug"].required = False


class SquadSettingsForm(ModelForm):
    webhook_url = forms.URLField(
        label="Webhook URL",
        required=False,
        assume_scheme="https",
        help_text=Squad._meta.get_field("webhook_url").help_text,
    )

    class Meta:
        model = Squad
        fields = [
            "name",
            "description",
            "breakout_mode",
            "remind_after_days",
            "escalate_after_days",
            "vendor_followup_days",
            "min_review_approvals",
            "require_principal_approval",
            "webhook_url",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "breakout_mode": forms.RadioSelect,
        }


class UserByUsernameField(forms.CharField):
    """A username typed by a person, cleaned into the active user it names."""

    def clean(self, value):
        username = (super().clean(value) or "").strip()
        if not username:
            return None
        user = User.objects.filter(username__iexact=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No one has the username “{username}”.")
        return user


class AddMemberForm(Form):
    user = UserByUsernameField(
        label="Username", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.ENGINEER)


class RoleForm(Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
