from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator

from accounts.models import User
from config.inputs import ModelForm, TextRuleMixin


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


class LoginForm(TextRuleMixin, AuthenticationForm):
    """Django's login form, refusing a username no account can have before it is looked up.

    Django sets the field's max_length after the field is made, so without
    this its length is never checked, and the login throttle failed to log
    an attempt with a longer username than its column holds.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        longest = User._meta.get_field("username").max_length or 150
        username.validators.append(MaxLengthValidator(longest))
