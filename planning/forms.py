from django import forms
from django.contrib.auth import get_user_model

from planning.models import Project
from squads.forms import UserByUsernameField

User = get_user_model()


class ProjectForm(forms.ModelForm):
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

    def __init__(self, *args, squad, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.squad = squad
        self.fields["slug"].required = False
        self.fields["tech_lead"].queryset = User.objects.filter(memberships__squad=squad)
        self.fields["tech_lead"].label_from_instance = lambda u: f"{u.display_name} ({u.username})"
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

    def _post_clean(self) -> None:
        # The squad is not a form field; set it before the model validates itself.
        self.instance.squad = self.squad
        super()._post_clean()
