from django.contrib import admin

from squads.models import Membership, Squad


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Squad)
class SquadAdmin(admin.ModelAdmin):
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
