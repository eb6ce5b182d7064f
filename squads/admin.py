from django import forms
from django.contrib import admin

from notifications.egress import check_webhook_url
from squads.models import Membership, Squad


class SquadAdminForm(forms.ModelForm):
    """The admin's squad form (the admin supplies model and fields): webhook URLs checked as elsewhere."""

    webhook_url = forms.URLField(label="Webhook URL", required=False, assume_scheme="https")

    def clean_webhook_url(self) -> str:
        url = self.cleaned_data["webhook_url"]
        if url and url != self.initial.get("webhook_url"):
            try:
                check_webhook_url(url)
            except forms.ValidationError as error:
                raise forms.ValidationError(error.message_dict["webhook_url"]) from None
        return url


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Squad)
class SquadAdmin(admin.ModelAdmin):
    form = SquadAdminForm
    list_display = ["name", "slug", "breakout_mode", "min_review_approvals", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["squad", "user", "role", "joined_at"]
    list_filter = ["role", "squad"]
    search_fields = ["user__username", "user__full_name", "squad__name"]
    autocomplete_fields = ["user", "squad"]
