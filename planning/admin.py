from django.contrib import admin

from planning.models import (
    Activity,
    Artifact,
    ArtifactRevision,
    BreakoutSession,
    Comment,
    Concern,
    DeferralRequest,
    DesignReview,
    KickoffMeeting,
    Milestone,
    Project,
    Story,
    Subtask,
    Unknown,
    UnknownComment,
    Verdict,
)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "squad", "tech_lead", "principal_engineer", "created_at"]
    list_filter = ["squad"]
    search_fields = ["name", "slug", "squad__name"]
    list_select_related = ["squad", "tech_lead", "principal_engineer"]
    autocomplete_fields = ["squad", "tech_lead", "principal_engineer"]


class ArtifactInline(admin.TabularInline):
    model = Artifact
    fields = ("kind", "status", "needed", "revision", "updated_by", "updated_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Milestone)
class MilestoneAdmin(admin.ModelAdmin):
    list_display = ["__str__", "project", "phase", "tech_lead", "due_on", "updated_at"]
    list_filter = ["phase", "project__squad"]
    search_fields = ["title", "project__name"]
    list_select_related = ["project", "tech_lead"]
    autocomplete_fields = ["project", "tech_lead"]
    # Phases move only through the workflow engine, which checks the guards.
    readonly_fields = ["phase", "number"]
    inlines = [ArtifactInline]


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = ["kind", "milestone", "status", "needed", "revision", "updated_at"]
    list_filter = ["kind", "status"]
    search_fields = ["milestone__title"]
    list_select_related = ["milestone"]
    # Bodies change only through revisions, so that no edit is ever lost.
    readonly_fields = ["milestone", "kind", "body", "revision", "updated_by"]


@admin.register(ArtifactRevision)
class ArtifactRevisionAdmin(admin.ModelAdmin):
    list_display = ["artifact", "number", "author", "created_at"]
    list_select_related = ["artifact__milestone", "author"]
    readonly_fields = ["artifact", "number", "body", "author", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "milestone", "actor", "verb", "summary"]
    list_filter = ["verb"]
    list_select_related = ["milestone", "actor"]
    search_fields = ["summary"]
    readonly_fields = ["milestone", "actor", "verb", "summary", "data", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Unknown)
class UnknownAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "milestone", "priority", "status", "owner", "due_on"]
    list_filter = ["priority", "status"]
    search_fields = ["title", "milestone__title"]
    list_select_related = ["milestone", "owner"]
    autocomplete_fields = ["owner"]
    # Resolving and deferring go through their own flows, which leave Activity rows.
    readonly_fields = ["milestone", "number", "status", "resolution", "last_activity_at"]


@admin.register(UnknownComment)
class UnknownCommentAdmin(admin.ModelAdmin):
    list_display = ["unknown", "author", "created_at"]
    list_select_related = ["unknown", "author"]


@admin.register(DeferralRequest)
class DeferralRequestAdmin(admin.ModelAdmin):
    list_display = ["unknown", "status", "requested_by", "decided_by", "created_at", "decided_at"]
    list_filter = ["status"]
    list_select_related = ["unknown", "requested_by", "decided_by"]
    readonly_fields = [
        "unknown", "requested_by", "reason", "defer_until", "status",
        "decided_by", "decided_at", "decision_note",
    ]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(DesignReview)
class DesignReviewAdmin(admin.ModelAdmin):
    list_display = ["milestone", "round", "scheduled_for", "status", "outcome"]
    list_filter = ["status", "outcome"]
    list_select_related = ["milestone"]
    filter_horizontal = ["invitees"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["review", "author", "artifact_kind", "resolved", "created_at"]
    list_select_related = ["review__milestone", "author"]


@admin.register(Verdict)
class VerdictAdmin(admin.ModelAdmin):
    list_display = ["review", "reviewer", "verdict", "counted", "updated_at"]
    list_filter = ["verdict", "counted"]
    list_select_related = ["review__milestone", "reviewer"]


@admin.register(KickoffMeeting)
class KickoffMeetingAdmin(admin.ModelAdmin):
    list_display = ["milestone", "scheduled_for", "held_at"]
    list_select_related = ["milestone"]


@admin.register(Concern)
class ConcernAdmin(admin.ModelAdmin):
    list_display = ["milestone", "kind", "status", "raised_by", "created_at"]
    list_filter = ["kind", "status"]
    list_select_related = ["milestone", "raised_by"]


class SubtaskInline(admin.TabularInline):
    model = Subtask
    extra = 0


@admin.register(Story)
class StoryAdmin(admin.ModelAdmin):
    list_display = ["key", "title", "milestone", "assignee", "status"]
    list_filter = ["status"]
    list_select_related = ["milestone", "assignee"]
    inlines = [SubtaskInline]


@admin.register(BreakoutSession)
class BreakoutSessionAdmin(admin.ModelAdmin):
    list_display = ["milestone", "scheduled_for", "held_at"]
    list_select_related = ["milestone"]
    filter_horizontal = ["attendees"]
