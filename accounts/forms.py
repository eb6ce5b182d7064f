from django import forms

from accounts.models import User
from config.inputs import ModelForm


class ProfileForm(ModelForm):
    class Meta:
        model = User
        fields = ["full_name", "email", "reminder_delivery"]
        labels = {"reminder_delivery": "Reminders"}
        help_texts = {
            "reminder_delivery": "How reminders about unknowns and approvals reach you by email.",
        }
        widgets = {"reminder_delivery": forms.RadioSelect}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
