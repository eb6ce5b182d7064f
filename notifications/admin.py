from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from notifications.models import Notification, WebhookDelivery


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "recipient", "kind", "text", "created_at", "read_at", "email", "emailed_at", "email_error",
    ]  # fmt: skip
    list_filter = ["kind", "email"]
    search_fields = ["text", "recipient__username", "dedupe_key"]
    list_select_related = ["recipient"]
    readonly_fields = ["dedupe_key", "email_claimed_at", "emailed_at", "email_error"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The squads' webhook log. Read-only: a post is signed and sent as it was recorded."""

    list_display = [
        "created_at", "squad", "event", "status", "attempts", "response_status", "last_error",
    ]  # fmt: skip
    list_filter = ["status", "event"]
    search_fields = ["squad__name", "event", "dedupe_key"]
    list_select_related = ["squad"]
    readonly_fields = [
        "squad", "event", "url", "payload", "dedupe_key", "status", "attempts",
        "response_status", "last_error", "created_at", "claimed_at", "sent_at",
    ]  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: WebhookDelivery | None = None
    ) -> bool:
        return False
